/**
 * Text of an XML node as the `soap` package parses it: a string (or a number, once a deserializer
 * has run), or `{ $value, attributes }` when the element carried attributes. Shared by the demo
 * server (WS-Security header) and the hub's SOAP handler (fault codes).
 */
export function xmlText(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (node && typeof node === 'object' && '$value' in node) return xmlText((node as { $value: unknown }).$value);
  return undefined;
}
