/** Just enough XML for TwiML: elements, attributes, text, the five entities and numeric references. */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  const tokens = xml.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, '').match(/<[^>]+>|[^<]+/g) ?? [];
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.startsWith('</')) {
      if (stack.length > 1) stack.pop();
    } else if (token.startsWith('<')) {
      const m = token.match(/^<\s*([\w:.-]+)([\s\S]*?)(\/?)\s*>$/);
      if (!m) continue;
      const node: XmlNode = { name: m[1], attrs: {}, children: [], text: '' };
      for (const a of m[2].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) node.attrs[a[1]] = decodeXml(a[2] ?? a[3]);
      top.children.push(node);
      if (!m[3]) stack.push(node);
    } else {
      top.text += decodeXml(token);
    }
  }
  return root.children[0] ?? root;
}

export function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
      : ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[e.toLowerCase()],
  );
}

/** The identity and custom parameters of a `<Client>` noun (`<Identity>` + `<Parameter>` children, or its text). */
export function clientOf(node: XmlNode): { identity: string; parameters: Record<string, string> } {
  const identity = (node.children.find((c) => c.name === 'Identity')?.text ?? node.text).trim();
  const parameters: Record<string, string> = {};
  for (const p of node.children.filter((c) => c.name === 'Parameter')) if (p.attrs.name) parameters[p.attrs.name] = p.attrs.value ?? '';
  return { identity, parameters };
}

/** `client:op-1?callId=…&purpose=…` (a Participant's `To`): the identity and the custom parameters in its query. */
export function parseClientAddress(to: string): { identity: string; parameters: Record<string, string> } | null {
  if (!to.startsWith('client:')) return null;
  const rest = to.slice('client:'.length);
  const q = rest.indexOf('?');
  const identity = q < 0 ? rest : rest.slice(0, q);
  const parameters = q < 0 ? {} : Object.fromEntries(new URLSearchParams(rest.slice(q + 1)));
  return { identity, parameters };
}
