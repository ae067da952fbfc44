/**
 * The tab id a Plume socket sends as the `plume_tab` connect param, so the
 * server recognises a reconnect (or a reload) of the same browser tab and
 * lets it take over its own presence instead of showing a leave and a join.
 *
 * Kept in `sessionStorage`, which is per tab and survives reloads. Where
 * there is none (Node, storage disabled) each socket keeps its own id for
 * its lifetime, which still covers its reconnects.
 */
import { randomId } from './ids';

const KEY = 'plume:tab';
const perSocket = new WeakMap<object, string>();

/**
 * @example url.searchParams.set(TAB_PARAM, tabId(socket));
 */
export function tabId(socket: object): string {
  let id = perSocket.get(socket);
  if (id) return id;
  try {
    id = sessionStorage.getItem(KEY) ?? undefined;
    if (!id) sessionStorage.setItem(KEY, (id = randomId()));
  } catch {
    // No sessionStorage here (Node, or disabled): an id for this socket's lifetime is the next best thing.
    id ??= randomId();
  }
  perSocket.set(socket, id);
  return id;
}
