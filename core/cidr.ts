// CIDR blocks for network policies: which networks a device may connect from, and which
// networks staff may read PHI from.
import { BlockList, isIP } from 'node:net';

export function isCidr(value: string): boolean {
  const [address, bits, extra] = value.split('/');
  if (extra !== undefined || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits))
    return false;
  const family = isIP(address);
  const prefix = Number(bits);
  return (family === 4 && prefix <= 32) || (family === 6 && prefix <= 128);
}

/** A set of CIDR blocks. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) match their IPv4 blocks. */
export class NetworkPolicy {
  private readonly blocks = new BlockList();
  readonly cidrs: readonly string[];

  constructor(cidrs: readonly string[]) {
    this.cidrs = cidrs;
    for (const cidr of cidrs) {
      if (!isCidr(cidr)) throw new TypeError(`not a CIDR block: ${cidr}`);
      const [address, bits] = cidr.split('/') as [string, string];
      this.blocks.addSubnet(address, Number(bits), isIP(address) === 4 ? 'ipv4' : 'ipv6');
    }
  }

  get isEmpty(): boolean {
    return this.cidrs.length === 0;
  }

  allows(address: string | undefined): boolean {
    if (!address) return false;
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.blocks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}
