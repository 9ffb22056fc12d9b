export * from "../net/ip.ts";
