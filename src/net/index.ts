/**
 * Networking for the arbiter: bind-address parsing, listening sockets Bun does not poll,
 * systemd socket activation / notification, and IP addresses and networks.
 */
export {
  BindError,
  DEFAULT_PORT,
  describeBind,
  formatBind,
  isIpLiteral,
  parseBind,
  resolveBind,
  type BindAddress,
} from "./bind-address.ts";
export {
  adoptListenSocket,
  closeFd,
  openListenSocket,
  removeStaleSocket,
  setCloexec,
  setNonBlocking,
  socketInfo,
  socketInfoToBind,
  type ListenSocketOptions,
  type SocketInfo,
} from "./listen-socket.ts";
export { listenFds, SD_LISTEN_FDS_START, sdNotify } from "./systemd.ts";
export {
  formatIpv4,
  formatIpv6,
  ipMatcher,
  isIpOrNetwork,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseNetwork,
  type IpNetwork,
} from "./ip.ts";
export { SyscallError } from "../os/index.ts";
