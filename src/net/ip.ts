/**
 * @module
 * Textual IP addresses as bytes: strict IPv4/IPv6 parsing (no zone ids, no shorthand IPv4 such
 * as `127.1`), RFC 5952 IPv6 formatting, CIDR networks, and an allow-list matcher. The one IP
 * parser of bunicorn: bind addresses, PROXY protocol headers, the `proxy_allow_ips` matcher and
 * the config validators of `proxy_allow_ips` / `forwarded_allow_ips` all use it, so a value the
 * config accepts is one the matcher accepts. No imports: cheap to load in any process.
 */

/** Parses a dotted-quad IPv4 address (each part 0..255, no leading zeros) into 4 bytes. */
export function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted IPv4) into 16 bytes. */
export function parseIpv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const items = h.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (g.includes(".")) {
        // An embedded IPv4 address is only allowed as the last item of the whole address.
        if (i !== items.length - 1) return null;
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  if (head === null) return null;
  let all: number[];
  if (halves.length === 2) {
    if (halves[0]!.includes(".")) return null;
    const tail = groups(halves[1]!);
    if (tail === null) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}

/** 4 bytes for an IPv4 address, 16 for an IPv6 one, null for anything else. */
export function parseIp(s: string): Uint8Array | null {
  return s.includes(":") ? parseIpv6(s) : parseIpv4(s);
}

/** `a.b.c.d` from 4 bytes at `off`. */
export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** The RFC 5952 text of 16 bytes at `off` (lower case, longest zero run compressed; `::ffff:a.b.c.d` for IPv4-mapped). */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return `::ffff:${formatIpv4(b, off + 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]) => x.map((n) => n.toString(16)).join(":");
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** An IP network: the address bytes (4 or 16) and the prefix length in bits. */
export interface IpNetwork {
  bytes: Uint8Array;
  prefix: number;
}

/**
 * Parses `ADDRESS` or `ADDRESS/PREFIX` (IPv4 or IPv6, prefix 0..32 or 0..128); a plain address
 * is a network of one. Null for anything else.
 */
export function parseNetwork(item: string): IpNetwork | null {
  const slash = item.indexOf("/");
  const bytes = parseIp(slash < 0 ? item : item.substring(0, slash));
  if (bytes === null) return null;
  const bits = bytes.length * 8;
  const prefixText = slash < 0 ? String(bits) : item.substring(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > bits) return null;
  return { bytes, prefix };
}

/** True for an IP address or a CIDR network (`10.0.0.0/8`, `2001:db8::/32`). */
export function isIpOrNetwork(item: string): boolean {
  return parseNetwork(item) !== null;
}

/** `::ffff:a.b.c.d` → the 4 IPv4 bytes; anything else unchanged. */
function unmap(b: Uint8Array): Uint8Array {
  if (b.length !== 16) return b;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return b;
  if (b[10] !== 0xff || b[11] !== 0xff) return b;
  return b.subarray(12);
}

function inNetwork(addr: Uint8Array, net: IpNetwork): boolean {
  if (addr.length !== net.bytes.length) return false;
  let bits = net.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (net.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * A predicate over textual peer addresses from a list of IPs and CIDR networks (`"*"` allows
 * everything). IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) match IPv4 entries. Throws a
 * TypeError for an entry that is not an address or network.
 */
export function ipMatcher(list: readonly string[]): (address: string) => boolean {
  if (list.includes("*")) return () => true;
  const nets: IpNetwork[] = [];
  for (const item of list) {
    const net = parseNetwork(item);
    if (net === null) throw new TypeError(`${JSON.stringify(item)} is not an IP address or network`);
    const { bytes, prefix } = net;
    // An IPv4-mapped network (`::ffff:10.0.0.0/104`) is matched as the IPv4 network it contains.
    const b = bytes.length === 16 && prefix >= 96 ? unmap(bytes) : bytes;
    nets.push({ bytes: b, prefix: b.length === bytes.length ? prefix : prefix - 96 });
  }
  return (address) => {
    const parsed = parseIp(address);
    if (parsed === null) return false;
    const a = unmap(parsed);
    for (const n of nets) if (inNetwork(a, n)) return true;
    return false;
  };
}
