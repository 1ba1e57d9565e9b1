import type { Clock, IdSource } from './clock';
import type { HeartbeatRecorder, LeaseTokens, Repository } from './ports';

/** Everything a domain operation may touch, passed in rather than imported. */
export interface DomainContext {
  repo: Repository;
  clock: Clock;
  ids: IdSource;
  tokens: LeaseTokens;
  heartbeats: HeartbeatRecorder;
  issuer: string;
}
