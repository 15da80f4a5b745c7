/* global EventSource */
/**
 * A stand-in for `@twilio/voice-sdk` in the browser tests: the `Device` and `Call` the console uses,
 * with the SDK's names, events and statuses (node_modules/@twilio/voice-sdk/esm/twilio/device.d.ts,
 * call.d.ts), talking to the local Twilio peer's device signalling (test/support/twilio-peer-devices.ts)
 * instead of Twilio's: `GET <peer>/_devices/events?token=…` (server-sent events: registered, incoming,
 * cancel, disconnect) and `POST <peer>/_devices/calls/<CallSid>/(accept|reject|disconnect)?token=…`.
 * No audio: a leg is "open" once the peer has it answered.
 *
 * It replaces the SDK at build time (buildConsoleBundle's `swap`, esbuild's alias), so the console's
 * own code is unchanged. The test gives the peer's address as `globalThis.__HOTLINE_TWILIO_PEER__`
 * (an init script) and reads what the devices did from `globalThis.__fakeVoice.log`; it can hold
 * answers (`__fakeVoice.held`, then call the functions in `__fakeVoice.waiting`) to see the console
 * between Accept and the call.
 *
 * CommonJS, as the repository lints `.js` (esbuild hands the console's `import()` its exports).
 */

/** Shared with the test (which may make it first, in an init script): what happened, and held answers. */
const control = (globalThis.__fakeVoice = globalThis.__fakeVoice || {});
control.log = control.log || [];
control.devices = control.devices || [];
control.held = control.held || false;
control.waiting = control.waiting || [];

function note(event, detail) {
  control.log.push({ at: Date.now(), event, ...detail });
}

function peerUrl() {
  const url = globalThis.__HOTLINE_TWILIO_PEER__;
  if (typeof url !== 'string' || !url) throw twilioError(31005, 'ConnectionError', 'no Twilio peer address given to the stand-in');
  return url.replace(/\/$/, '');
}

/** The Voice SDK's errors carry a numeric code (TwilioError); the console reads only the code. */
function twilioError(code, name, message) {
  const e = new Error(message);
  e.code = code;
  e.name = name;
  return e;
}

/** The access token's claims (an HS256 JWT the gateway made): identity, account, expiry. */
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

class Emitter {
  constructor() {
    this._listeners = new Map();
  }
  on(event, fn) {
    const list = this._listeners.get(event) || [];
    list.push(fn);
    this._listeners.set(event, list);
    return this;
  }
  addListener(event, fn) {
    return this.on(event, fn);
  }
  once(event, fn) {
    const wrapped = (...args) => {
      this.off(event, wrapped);
      fn(...args);
    };
    return this.on(event, wrapped);
  }
  off(event, fn) {
    const list = this._listeners.get(event) || [];
    this._listeners.set(
      event,
      list.filter((f) => f !== fn),
    );
    return this;
  }
  removeListener(event, fn) {
    return this.off(event, fn);
  }
  removeAllListeners(event) {
    if (event === undefined) this._listeners.clear();
    else this._listeners.delete(event);
    return this;
  }
  listenerCount(event) {
    return (this._listeners.get(event) || []).length;
  }
  emit(event, ...args) {
    const list = [...(this._listeners.get(event) || [])];
    for (const fn of list) {
      try {
        fn(...args);
      } catch (e) {
        // As an EventEmitter would: the listener's error surfaces, the others still run.
        setTimeout(() => {
          throw e;
        });
      }
    }
    return list.length > 0;
  }
}

const CallState = {
  Closed: 'closed',
  Connecting: 'connecting',
  Open: 'open',
  Pending: 'pending',
  Reconnecting: 'reconnecting',
  Ringing: 'ringing',
};

class Call extends Emitter {
  constructor(device, invite) {
    super();
    this._device = device;
    this._status = CallState.Pending;
    this._muted = false;
    this.direction = 'INCOMING';
    this.customParameters = new Map(Object.entries(invite.customParameters || {}).map(([k, v]) => [k, String(v)]));
    this.parameters = {
      CallSid: invite.callSid,
      AccountSid: claims(device.token).sub || '',
      From: invite.from,
      To: `client:${device.identity}`,
    };
  }

  get callSid() {
    return this.parameters.CallSid;
  }

  status() {
    return this._status;
  }

  isMuted() {
    return this._muted;
  }

  mute(shouldMute = true) {
    const was = this._muted;
    this._muted = !!shouldMute;
    if (was !== this._muted) this.emit('mute', this._muted, this);
  }

  accept() {
    if (this._status !== CallState.Pending) return;
    this._status = CallState.Connecting;
    note('accept', { callSid: this.callSid });
    void this._answer();
  }

  reject() {
    if (this._status !== CallState.Pending) return;
    this._status = CallState.Closed;
    note('reject', { callSid: this.callSid });
    void this._post('reject');
    this._device._forget(this);
    this.emit('reject');
  }

  disconnect() {
    if (this._status === CallState.Closed || this._status === CallState.Pending) return;
    const wasOpen = this._status === CallState.Open || this._status === CallState.Reconnecting;
    this._status = CallState.Closed;
    note('disconnect', { callSid: this.callSid, by: 'local' });
    if (wasOpen) void this._post('disconnect');
    this._device._forget(this);
    this.emit('disconnect', this);
  }

  /** The peer stopped ringing this device (answered elsewhere, rang out, the caller went). */
  _cancelled() {
    if (this._status === CallState.Closed) return;
    const ringing = this._status === CallState.Pending || this._status === CallState.Connecting;
    this._status = CallState.Closed;
    note(ringing ? 'cancel' : 'disconnect', { callSid: this.callSid, by: 'remote' });
    this._device._forget(this);
    this.emit(ringing ? 'cancel' : 'disconnect', this);
  }

  /** The peer ended the answered leg (removed from the conference, the call over). */
  _ended() {
    if (this._status === CallState.Closed) return;
    this._status = CallState.Closed;
    note('disconnect', { callSid: this.callSid, by: 'remote' });
    this._device._forget(this);
    this.emit('disconnect', this);
  }

  async _answer() {
    if (control.held) await new Promise((release) => control.waiting.push(release));
    if (this._status !== CallState.Connecting) return;
    const ok = await this._post('accept');
    if (this._status !== CallState.Connecting) return;
    if (!ok) {
      this._status = CallState.Closed;
      this._device._forget(this);
      this.emit('error', twilioError(31005, 'ConnectionError', 'the call could not be answered'));
      this.emit('disconnect', this);
      return;
    }
    this._status = CallState.Open;
    this._device._activeCall = this;
    note('open', { callSid: this.callSid });
    this.emit('accept', this);
  }

  async _post(what) {
    try {
      const res = await fetch(`${peerUrl()}/_devices/calls/${this.callSid}/${what}?token=${encodeURIComponent(this._device.token)}`, {
        method: 'POST',
      });
      return res.ok;
    } catch {
      return false;
    }
  }
}
Call.State = CallState;

const DeviceState = { Destroyed: 'destroyed', Unregistered: 'unregistered', Registering: 'registering', Registered: 'registered' };
const EventName = {
  Error: 'error',
  Incoming: 'incoming',
  Destroyed: 'destroyed',
  Unregistered: 'unregistered',
  Registering: 'registering',
  Registered: 'registered',
  TokenWillExpire: 'tokenWillExpire',
};

class Device extends Emitter {
  constructor(token, options = {}) {
    super();
    if (typeof token !== 'string' || !token) throw twilioError(31000, 'InvalidArgumentError', 'a token is required');
    this._token = token;
    this._options = { allowIncomingWhileBusy: false, tokenRefreshMs: 10000, ...options };
    this._state = DeviceState.Unregistered;
    this._calls = [];
    this._activeCall = null;
    this._source = null;
    this._identity = null;
    this._expiryTimer = null;
    this._watchExpiry();
    control.devices.push(this);
  }

  get state() {
    return this._state;
  }
  get token() {
    return this._token;
  }
  get identity() {
    return this._identity;
  }
  get calls() {
    return [...this._calls];
  }
  get isBusy() {
    return !!this._activeCall;
  }

  register() {
    if (this._state !== DeviceState.Unregistered)
      return Promise.reject(twilioError(31000, 'InvalidStateError', `Attempt to register when device is in state "${this._state}"`));
    this._setState(DeviceState.Registering);
    return new Promise((resolve, reject) => {
      let source;
      try {
        source = new EventSource(`${peerUrl()}/_devices/events?token=${encodeURIComponent(this._token)}`);
      } catch (e) {
        this._setState(DeviceState.Unregistered);
        this.emit('error', e);
        reject(e);
        return;
      }
      this._source = source;
      let first = true;
      source.addEventListener('registered', (e) => {
        this._identity = JSON.parse(e.data).identity;
        note('registered', { identity: this._identity });
        this._setState(DeviceState.Registered);
        if (first) resolve();
        first = false;
      });
      source.addEventListener('incoming', (e) => this._invite(JSON.parse(e.data)));
      source.addEventListener('cancel', (e) => this._callFor(JSON.parse(e.data).callSid)?._cancelled());
      source.addEventListener('disconnect', (e) => this._callFor(JSON.parse(e.data).callSid)?._ended());
      source.onerror = () => {
        if (this._source !== source) return;
        if (first) {
          // Never registered (a token the peer refuses, or no peer): as the SDK reports a signalling failure.
          source.close();
          this._source = null;
          this._setState(DeviceState.Unregistered);
          const err = twilioError(31005, 'ConnectionError', 'the signalling connection could not be made');
          this.emit('error', err);
          reject(err);
          return;
        }
        // The stream dropped: EventSource tries again by itself (the peer registers the new stream).
        if (this._state === DeviceState.Registered) this._setState(DeviceState.Unregistered);
        if (source.readyState === EventSource.CLOSED) {
          this._source = null;
          this.emit('error', twilioError(31005, 'ConnectionError', 'the signalling connection was lost'));
        }
      };
    });
  }

  async unregister() {
    if (this._state !== DeviceState.Registered)
      throw twilioError(31000, 'InvalidStateError', `Attempt to unregister when device is in state "${this._state}"`);
    this._closeStream();
    this._setState(DeviceState.Unregistered);
  }

  updateToken(token) {
    if (typeof token !== 'string' || !token) throw twilioError(31000, 'InvalidArgumentError', 'a token is required');
    this._token = token;
    this._watchExpiry();
  }

  disconnectAll() {
    for (const call of [...this._calls]) call.disconnect();
  }

  destroy() {
    for (const call of [...this._calls]) call.reject();
    this.disconnectAll();
    this._closeStream();
    clearTimeout(this._expiryTimer);
    note('destroyed', { identity: this._identity });
    this._setState(DeviceState.Destroyed);
    this.removeAllListeners();
  }

  _setState(state) {
    if (this._state === state) return;
    this._state = state;
    this.emit(state);
  }

  _closeStream() {
    const source = this._source;
    this._source = null;
    if (source) source.close();
  }

  _watchExpiry() {
    clearTimeout(this._expiryTimer);
    const exp = Number(claims(this._token).exp);
    if (!exp) return;
    const inMs = exp * 1000 - Date.now() - this._options.tokenRefreshMs;
    this._expiryTimer = setTimeout(() => this.emit('tokenWillExpire', this), Math.max(0, Math.min(inMs, 2 ** 31 - 1)));
  }

  _callFor(callSid) {
    return this._calls.find((c) => c.callSid === callSid);
  }

  _forget(call) {
    this._calls = this._calls.filter((c) => c !== call);
    if (this._activeCall === call) this._activeCall = null;
  }

  _invite(invite) {
    note('incoming', { callSid: invite.callSid, customParameters: invite.customParameters, busy: this.isBusy });
    // As the SDK: while a call is up, a new invite is ignored unless the console allows it.
    if (this.isBusy && !this._options.allowIncomingWhileBusy) return;
    const call = new Call(this, invite);
    this._calls.push(call);
    this.emit('incoming', call);
  }
}
Device.State = DeviceState;
Device.EventName = EventName;

module.exports = { Device, Call };
