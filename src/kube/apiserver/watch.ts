// What one watcher sees of one change, as the real watch cache decides it: changes outside
// its resource or namespace are skipped, and selectors apply to both the old and the new
// object so an object moving out of a selector is DELETED for that watcher, and one moving
// in is ADDED.
import type { Change, KubeObject } from './store.js';
import { matchesFields, matchesLabels, type FieldSelector, type LabelSelector } from './selectors.js';

export interface WatchFilter {
  resource: string;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldSelector;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

export function matchesFilter(filter: WatchFilter, object: KubeObject): boolean {
  if (filter.namespace && object.metadata.namespace !== filter.namespace) return false;
  return matchesLabels(filter.labels, object.metadata.labels as Record<string, string> | undefined) && matchesFields(filter.fields, object);
}

export function eventForWatcher(filter: WatchFilter, change: Change): WatchEvent | undefined {
  if (change.resource !== filter.resource) return undefined;
  const now = change.type !== 'DELETED' && matchesFilter(filter, change.object);
  const before = change.previous !== undefined && matchesFilter(filter, change.previous);
  switch (change.type) {
    case 'ADDED':
      return now ? { type: 'ADDED', object: change.object } : undefined;
    case 'DELETED':
      return before ? { type: 'DELETED', object: change.object } : undefined;
    case 'MODIFIED':
      if (now && before) return { type: 'MODIFIED', object: change.object };
      if (now) return { type: 'ADDED', object: change.object };
      if (before) {
        // The watcher last saw the old object; it learns of the removal at this version.
        const stamped = { ...change.previous!, metadata: { ...change.previous!.metadata, resourceVersion: change.object.metadata.resourceVersion } };
        return { type: 'DELETED', object: stamped };
      }
      return undefined;
  }
}
