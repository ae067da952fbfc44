// A minimal chat, written as an app using the installed package would be.
import { Presence, Socket } from 'plume';
import { durable } from 'plume/durable';
import { mesh } from 'plume/mesh';

const name = new URLSearchParams(location.search).get('name') ?? 'guest';
const socket = new Socket('/socket', { params: { name }, durable: durable({ name: `consumer-${name}` }), mesh: mesh({ iceServers: [] }) });
const state = document.querySelector<HTMLOutputElement>('#state')!;
socket.onStateChange(({ to }) => (state.value = to));
socket.connect();

const room = socket.channel('room:lobby');
const presence = new Presence(room);
presence.onSync(() => (document.body.dataset.online = String(presence.list().length)));
room.on('msg', (payload: { body?: unknown; name?: unknown }) => {
  const item = document.createElement('li');
  item.textContent = `${String(payload.name)}: ${String(payload.body)}`;
  document.querySelector('#messages')!.append(item);
});
void room.join();

document.querySelector<HTMLFormElement>('#form')!.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.querySelector<HTMLInputElement>('#text')!;
  void room.send('msg', { body: input.value, name });
  input.value = '';
});
