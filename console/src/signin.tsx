/**
 * Sign-in: on the embedded default, pick a demo department and role (a token from the hub's local
 * issuer); otherwise paste a token, or sign in with the configured OIDC issuer (authorization
 * code + PKCE, pages/oidc.ts).
 */
import { useState, type FormEvent } from 'react';
import { consoleConfig, demoToken, type ConsoleConfig } from './api.ts';
import { Async, Data, ErrorBox, useAction, useLoad } from './components/common.tsx';
import { useI18n } from './i18n/index.tsx';
import { startOidcSignIn } from './oidc.ts';
import { useSession } from './session.tsx';

export function SignIn() {
  const { t, tx } = useI18n();
  const { signIn, ended } = useSession();
  const config = useLoad(consoleConfig, []);
  const [department, setDepartment] = useState('');
  const [role, setRole] = useState('developer');
  const [pasted, setPasted] = useState('');
  const [badToken, setBadToken] = useState(false);

  const demo = useAction(async (config: ConsoleConfig, dept: string, r: string) => {
    const token = await demoToken(dept || config.demoSignIn!.departments[0]!.code, r);
    signIn(token);
  });
  const oidc = useAction(async (config: ConsoleConfig) => startOidcSignIn(config.oidc!));

  const usePasted = (e: FormEvent) => {
    e.preventDefault();
    setBadToken(signIn(pasted) === null);
  };

  return (
    <main id="main" className="signin">
      <h1>{t('signin.title')}</h1>
      {ended === 'expired' ? (
        <p className="notice" role="status">
          {t('session.expired')}
        </p>
      ) : null}
      <Async state={config}>
        {(c) => (
          <>
            {c.demoSignIn ? (
              <form
                className="card"
                onSubmit={(e) => {
                  e.preventDefault();
                  void demo.run(c, department, role);
                }}
                aria-labelledby="demo-title"
              >
                <h2 id="demo-title">{t('signin.demo')}</h2>
                <label htmlFor="demo-dept">{t('signin.department')}</label>
                <select id="demo-dept" value={department || c.demoSignIn.departments[0]?.code} onChange={(e) => setDepartment(e.target.value)}>
                  {c.demoSignIn.departments.map((d) => (
                    <option key={d.code} value={d.code} data-i18n-exempt="">
                      {d.name}（{d.code}）
                    </option>
                  ))}
                </select>
                <label htmlFor="demo-role">{t('signin.role')}</label>
                <select id="demo-role" value={role} onChange={(e) => setRole(e.target.value)}>
                  {c.demoSignIn.roles.map((r) => (
                    <option key={r} value={r}>
                      {tx(`role.${r}`, r)}
                    </option>
                  ))}
                </select>
                <button type="submit" disabled={demo.busy}>
                  {t('signin.submit')}
                </button>
                <ErrorBox error={demo.error} />
              </form>
            ) : null}
            {c.oidc ? (
              <div className="card">
                <button type="button" onClick={() => void oidc.run(c)} disabled={oidc.busy}>
                  {t('signin.oidc')}
                </button>
                <p className="muted">
                  <Data>{c.oidc.issuer}</Data>
                </p>
                <ErrorBox error={oidc.error} />
              </div>
            ) : null}
            <form className="card" onSubmit={usePasted}>
              <label htmlFor="token">{t('signin.token')}</label>
              <textarea id="token" rows={3} value={pasted} onChange={(e) => setPasted(e.target.value)} spellCheck={false} autoComplete="off" aria-describedby="token-help" />
              <p id="token-help" className="muted">
                {t('signin.tokenHelp')}
              </p>
              <button type="submit">{t('signin.tokenSubmit')}</button>
              {badToken ? (
                <div className="error" role="alert">
                  {t('signin.badToken')}
                </div>
              ) : null}
            </form>
          </>
        )}
      </Async>
    </main>
  );
}
