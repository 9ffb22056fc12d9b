/**
 * @module
 * Operating-system helpers (Linux, through `bun:ffi` where needed; soft no-ops elsewhere).
 */
export {
  COMM_MAX_BYTES,
  dropPrivileges,
  getParentDeathSignal,
  isPid1,
  OrphanReaper,
  resolveGroup,
  resolveUser,
  setChildSubreaper,
  setParentDeathSignal,
  setProcessComm,
  signalNumber,
  tcpMigrateReq,
  zombieChildren,
  type DropPrivilegesOptions,
  type OrphanReaperOptions,
  type ReapedChild,
  type ResolvedUser,
} from "./process.ts";
export { C, check, errno, errnoName, errnoNumber, ffi, libc, requireLibc, SyscallError } from "./libc.ts";
