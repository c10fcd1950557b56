// The store's contract: objects as JSON under one etcd key each, versioned by
// etcd's revisions. resourceVersion is the key's mod_revision; a list carries
// the revision it was read at; a watch from revision R delivers every change
// after R in order, or fails with Expired when R was compacted away.

import type { KubeObject } from '../api/objects.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface StoreEvent {
  type: Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>;
  /** The object after the change; for DELETED, the last state with the delete's revision. */
  object: KubeObject;
  revision: number;
  /**
   * The object's JSON as served (JSON.stringify of it, up to key order), in
   * pieces to write one after another, made from etcd's bytes on first call
   * and kept: watchers that send the object as it is need no JSON.stringify.
   */
  json?: () => readonly Buffer[];
  /**
   * MODIFIED: the object as it was before the change, read from the store on
   * first call (the watch does not carry it; a selective watch that has not
   * seen the key yet asks). Rejects with Expired when compacted.
   */
  previous?: () => Promise<KubeObject>;
}

export interface ListOptions {
  /** Read at this revision (0 or undefined: the newest). */
  revision?: number;
  limit?: number;
  /** The opaque token a previous page returned. */
  continue?: string;
  /** Applied before limit, so a page holds only matching objects (as kube-apiserver does). */
  filter?: (obj: KubeObject) => boolean;
}

export interface ListResult {
  items: KubeObject[];
  revision: number;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface WatchHandle {
  close(): Promise<void>;
}

export interface WatchCallbacks {
  onEvent(event: StoreEvent): void;
  /** Expired (compacted) or a broken stream; the watch is over after this. */
  onError(err: Error): void;
}

export interface Store {
  /** Writes a new key; fails with StoreError 'AlreadyExists' when it exists. */
  create(key: string, obj: KubeObject): Promise<KubeObject>;
  get(key: string): Promise<KubeObject | undefined>;
  /** Replaces the key if its mod_revision is still `expectedRevision` ('Conflict' otherwise, 'NotFound' when gone). */
  update(key: string, obj: KubeObject, expectedRevision: number): Promise<KubeObject>;
  /**
   * Reads, applies `fn`, writes with a revision compare, and retries on conflict.
   * `fn` gets a private copy it may change; returning undefined writes nothing.
   */
  guaranteedUpdate(
    key: string,
    fn: (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>,
  ): Promise<KubeObject>;
  delete(key: string, preconditions?: DeletePreconditions): Promise<KubeObject>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Events for keys under prefix with revision > fromRevision (or from now when undefined). */
  watch(prefix: string, fromRevision: number | undefined, cb: WatchCallbacks): Promise<WatchHandle>;
  currentRevision(): Promise<number>;
  /** Compacts history up to revision (tests and the compactor use it). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
