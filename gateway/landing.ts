/**
 * The page served at GET /graphql (and /) for browsers: a self-contained query runner with the
 * example queries and a token field (sent as `Authorization: Bearer`; kept only in the page,
 * never stored). Everything is inline — it loads nothing from any other host (政务外网 has no
 * internet). The full web console is at /console/ (gateway/console); this page links to it.
 */
import type { ExampleQuery } from './examples.ts';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function landingPage(examples: readonly ExampleQuery[]): string {
  const data = JSON.stringify(examples).replace(/</g, '\\u003c');
  const options = examples.map((e, i) => `<option value="${i}">${escapeHtml(e.title)}</option>`).join('');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>通享 Tongxiang — GraphQL</title>
<style>
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",system-ui,sans-serif;margin:0;background:#f5f7fa;color:#1f2d3d}
header{background:#1d4e89;color:#fff;padding:12px 20px}header a{color:#fff}header h1{font-size:20px;margin:0}header p{margin:4px 0 0;font-size:13px;opacity:.9}
main{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:12px 20px}
label{font-size:13px;font-weight:600;display:block;margin:6px 0 4px}
textarea,pre,select,input{width:100%;box-sizing:border-box;font-family:Consolas,"Courier New",monospace;font-size:13px;border:1px solid #c0c8d2;border-radius:4px;padding:8px;background:#fff}
textarea#q{height:340px}textarea#v{height:70px}pre{height:470px;overflow:auto;margin:0}
button{background:#1d4e89;color:#fff;border:0;border-radius:4px;padding:8px 18px;font-size:14px;margin-top:8px;cursor:pointer}
button:focus,textarea:focus,select:focus,input:focus{outline:3px solid #f0a500}
</style></head>
<body><header><h1>通享 数据共享枢纽 · Tongxiang data-sharing hub</h1>
<p>POST /graphql · 示例查询可直接运行 / run the examples below · <a href="/console/">进入控制台 / open the console</a></p></header>
<main><section>
<label for="tok">令牌 / Token (Bearer)</label><input id="tok" type="password" autocomplete="off" spellcheck="false" placeholder="npx tongxiang token --dept 341504.mzj --role developer">
<label for="ex">示例 / Example</label><select id="ex">${options}</select>
<label for="q">查询 / Query</label><textarea id="q" spellcheck="false"></textarea>
<label for="v">变量 / Variables (JSON)</label><textarea id="v" spellcheck="false"></textarea>
<button id="run" type="button">运行 / Run</button>
</section><section><label for="out">结果 / Result</label><pre id="out" tabindex="0" aria-live="polite"></pre></section></main>
<script>
const EX=${data};
const $=id=>document.getElementById(id);
function pick(i){$('q').value=EX[i].query;$('v').value=JSON.stringify(EX[i].variables,null,2);}
$('ex').addEventListener('change',e=>pick(Number(e.target.value)));pick(0);
$('run').addEventListener('click',async()=>{
  $('out').textContent='…';
  let variables={};try{variables=JSON.parse($('v').value||'{}')}catch(e){$('out').textContent='变量不是合法 JSON / variables are not valid JSON';return}
  const headers={'content-type':'application/json'};
  const tok=$('tok').value.trim().replace(/^Bearer\s+/i,'');if(tok)headers.authorization='Bearer '+tok;
  try{const r=await fetch(location.pathname.endsWith('/graphql')?location.pathname:'/graphql',{method:'POST',headers,body:JSON.stringify({query:$('q').value,variables})});
  $('out').textContent=JSON.stringify(await r.json(),null,2)}catch(e){$('out').textContent=String(e)}
});
</script></body></html>`;
}
