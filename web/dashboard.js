// The brain's dashboard: follows GET /brain/events, draws what the brain was shown and its
// answer, sends ratings, treats, words, stimuli (uploads, camera, microphone) and controls.
// Uses only the Brain API (docs/DASHBOARD.md); no framework, no build step.

const $ = (id) => document.getElementById(id);
const state = {
  key: localStorage.getItem('elarin-api-key') || '',
  lastEvent: 0,
  latest: null,          // the latest answer event
  drawn: 0,              // the episode whose stimulus is drawn
  fetching: false,
  sound: null,           // Float32Array of the latest sound shown
  log: [],               // answers waiting to be added to the log
  entries: new Map(),    // episode -> its <li>
  ratings: new Map(),    // episode -> its feedback event (it may come before its <li>)
  series: { reward: [], dopamine: [], temperature: [], tps: [], accuracy: {} },
  sentPending: 0,        // a camera/microphone stimulus sent and not yet answered (time sent)
  controls: null,
  dirty: false,
  latencies: [],         // ms from a rating's click to its answer
};

// ---- the API --------------------------------------------------------------------------------

async function api(path, { method = 'GET', body, type } = {}) {
  const headers = {};
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  if (body !== undefined && type === undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(body);
  } else if (type) {
    headers['Content-Type'] = type;
  }
  const res = await fetch(path, { method, headers, body });
  if (res.status === 401) {
    $('key-box').hidden = false;
    throw new Error('an API key is needed (top right)');
  }
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json() : await res.arrayBuffer();
  if (!res.ok) throw new Error(data?.error?.message || `HTTP ${res.status}`);
  return { data, res };
}

function note(id, text) { $(id).textContent = text; }

// A running brain answers hundreds of times a second: the page follows 8 of its stream answers a
// second (every stimulus a person sent and every person's rating come all the same).
const ANSWERS_PER_S = 8;

// Server-sent events over fetch (EventSource cannot send the API key).
async function followEvents() {
  for (;;) {
    try {
      const headers = state.key ? { Authorization: `Bearer ${state.key}` } : {};
      const res = await fetch(`/brain/events?after=${state.lastEvent}&answers_per_s=${ANSWERS_PER_S}`, { headers });
      if (res.status === 401) { $('key-box').hidden = false; throw new Error('API key'); }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setStatus('running');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let id = 0, type = 'message', data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) id = Number(line.slice(4));
            else if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (id) state.lastEvent = id;
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (e) {
      console.warn('events:', e.message);
    }
    setStatus('reconnecting');
    await new Promise((r) => setTimeout(r, 1000));
    await refreshState().catch(() => setStatus('stopped'));
  }
}

// An answer's rating in the log: colour and mark (a treat ★, + − 0), "(you)" for a person's.
function showRating(li, d) {
  li.className = d.treat ? 'treat' : d.reward > 0 ? 'good' : d.reward < 0 ? 'bad' : '';
  li.querySelector('.rating').textContent =
    ` ${d.treat ? '★' : d.reward > 0 ? '+' : d.reward < 0 ? '−' : '0'}${d.by === 'person' ? ' (you)' : ''}`;
}

function onEvent(type, d) {
  if (type === 'answer') {
    state.latest = d;
    if (d.source === 'camera' || d.source === 'microphone') state.sentPending = 0;
    state.log.push(d);
    if (state.log.length > 60) state.log.splice(0, state.log.length - 60);
  } else if (type === 'feedback') {
    state.ratings.set(d.episode, d);
    if (state.ratings.size > 2000) state.ratings.delete(state.ratings.keys().next().value);
    const li = state.entries.get(d.episode);
    if (li) showRating(li, d);
    if (d.applied) $('dopamine').textContent = d.dopamine.toFixed(3);
  } else if (type === 'metrics') {
    const s = state.series;
    const push = (arr, v) => { arr.push(v); if (arr.length > 240) arr.shift(); };
    push(s.reward, d.reward_rate);
    push(s.dopamine, d.dopamine);
    push(s.temperature, d.temperature);
    push(s.tps, d.ticks_per_s);
    for (const [k, v] of Object.entries(d.accuracy_by_sense || {})) push(s.accuracy[k] ||= [], v);
    $('tick').textContent = d.tick;
    $('tps').textContent = Math.round(d.ticks_per_s);
    $('treats').textContent = d.treats;
    drawRegions(d.regions || []);
    state.plotsDirty = true;
  } else if (type === 'learning') {
    const li = document.createElement('li');
    const what = { go_live_connections: 'Go connections woke from their sentinels',
      nogo_live_connections: 'NoGo connections woke from their sentinels',
      punished_kept: 'punished answers held back', punished: 'punishments seen',
      episodes: 'episodes remembered' }[d.counter] || d.counter;
    li.textContent = `tick ${d.tick} ${d.region}: ${what} ${d.from} → ${d.to}`;
    const list = $('learning');
    list.prepend(li);
    while (list.children.length > 100) list.lastChild.remove();
  } else if (type === 'control') {
    showControls(d);
  } else if (type === 'replay') {
    note('control-note', `replayed ${d.replayed} ratings from the feedback log after a crash`);
  }
  state.dirty = true;
}

// ---- drawing --------------------------------------------------------------------------------

// Five times a second at most: a person cannot follow faster, and a page that repaints at 60 fps
// takes the CPU the brain runs on (docs/BENCHMARKS.md, the dashboard's overhead).
function render() {
  if (!state.dirty || document.hidden) return;
  state.dirty = false;
  const a = state.latest;
  if (a) {
    $('episode').textContent = a.episode;
    $('answer').textContent = a.answer;
    $('expected').textContent = Number(a.expected).toFixed(2);
    $('source').textContent = `${a.source}${a.sense ? ` · ${a.sense}` : ''} · ${a.port}`;
    if (a.episode !== state.drawn && !state.fetching && performance.now() - (state.fetchedAt || 0) > 250) {
      state.fetchedAt = performance.now();
      drawStimulus(a);
    } else if (a.episode !== state.drawn) {
      state.dirty = true;  // draw it at a later frame
    }
  }
  const items = state.log.splice(0);
  const log = $('log');
  for (const d of items.slice(-30)) {
    const li = document.createElement('li');
    li.dataset.episode = d.episode;
    li.textContent = `#${d.episode} ${d.source === 'stream' ? d.sense : d.source}: ${d.answer}`;
    li.append(Object.assign(document.createElement('span'), { className: 'rating' }));
    log.prepend(li);
    state.entries.set(d.episode, li);
    if (state.ratings.has(d.episode)) showRating(li, state.ratings.get(d.episode));
  }
  while (log.children.length > 300) {
    const last = log.lastChild;
    state.entries.delete(Number(last.dataset.episode));
    last.remove();
  }
  if (state.plotsDirty) {
    state.plotsDirty = false;
    const s = state.series;
    plot('plot-reward', { reward: s.reward }, 0, 1);
    plot('plot-accuracy', s.accuracy, 0, 1);
    plot('plot-dopamine', { dopamine: s.dopamine });
    plot('plot-temperature', { temperature: s.temperature });
    plot('plot-tps', { 'ticks/s': s.tps }, 0);
    $('legend').innerHTML = Object.keys(s.accuracy)
      .map((k, i) => `<span style="color:${COLORS[i % COLORS.length]}">■ ${k}</span>`).join(' ');
  }
}

async function drawStimulus(a) {
  state.fetching = true;
  try {
    const { data, res } = await api(`/brain/stimulus/${a.episode}`);
    const v = new Float32Array(data);
    const port = res.headers.get('X-Elarin-Port');
    state.drawn = a.episode;
    $('stimulus').hidden = port !== 'image';
    $('sound').hidden = port !== 'audio';
    $('text-shown').hidden = port !== 'text';
    if (port === 'image') {
      const side = Math.round(Math.sqrt(v.length));
      const small = new OffscreenCanvas(side, side);
      const img = small.getContext('2d').createImageData(side, side);
      for (let i = 0; i < v.length; i++) {
        const g = Math.max(0, Math.min(255, Math.round(v[i] * 255)));
        img.data.set([g, g, g, 255], i * 4);
      }
      small.getContext('2d').putImageData(img, 0, 0);
      const c = $('stimulus').getContext('2d');
      c.imageSmoothingEnabled = false;
      c.drawImage(small, 0, 0, 224, 224);
    } else if (port === 'audio') {
      state.sound = v;
      drawLevel($('level'), v);
    } else if (port === 'text') {
      $('text-shown').textContent = a.text ?? '';
    }
  } catch (e) {
    state.drawn = a.episode;  // gone already (the brain runs fast): wait for the next one
  } finally {
    state.fetching = false;
  }
}

// The sound's level over time: one bar per slice, its RMS.
function drawLevel(canvas, v) {
  const c = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, n = Math.max(1, Math.floor(v.length / w));
  c.clearRect(0, 0, w, h);
  c.fillStyle = '#4c8dd9';
  for (let x = 0; x < w; x++) {
    let s = 0;
    for (let i = x * n; i < (x + 1) * n && i < v.length; i++) s += v[i] * v[i];
    const rms = Math.sqrt(s / n);
    const bar = Math.min(h, Math.round(rms * h * 4));
    c.fillRect(x, h - bar, 1, bar);
  }
}

const COLORS = ['#4c8dd9', '#e0a030', '#6fd08c', '#f08a80', '#b58cf0'];
function plot(id, lines, lo, hi) {
  const canvas = $(id), c = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  c.clearRect(0, 0, w, h);
  const all = Object.values(lines).flat();
  if (!all.length) return;
  const min = lo ?? Math.min(...all), max = hi ?? Math.max(...all, min + 1e-6);
  c.strokeStyle = '#2a323c';
  c.strokeRect(0, 0, w, h);
  Object.values(lines).forEach((arr, k) => {
    c.strokeStyle = COLORS[k % COLORS.length];
    c.beginPath();
    arr.forEach((v, i) => {
      const x = (i / 239) * w, y = h - ((v - min) / (max - min || 1)) * (h - 4) - 2;
      i ? c.lineTo(x, y) : c.moveTo(x, y);
    });
    c.stroke();
  });
  c.fillStyle = '#8b95a1';
  c.font = '10px sans-serif';
  c.fillText(max.toFixed(2), 2, 10);
  c.fillText(min.toFixed(2), 2, h - 2);
}

function drawRegions(regions) {
  const body = $('regions').tBodies[0];
  if (body.rows.length !== regions.length) {
    body.innerHTML = '';
    for (const r of regions) {
      const tr = body.insertRow();
      tr.insertCell().textContent = r.name;
      tr.insertCell();
      tr.insertCell().innerHTML = '<div class="bar"></div>';
      tr.insertCell();
    }
  }
  regions.forEach((r, i) => {
    const tr = body.rows[i];
    tr.cells[1].textContent = r.state_values >= 1e6 ? `${(r.state_values / 1e6).toFixed(2)}M` : r.state_values;
    tr.cells[2].firstChild.style.width = `${Math.min(100, r.activity * 100)}%`;
    tr.cells[2].title = Object.entries(r.ports).map(([p, v]) => `${p} ${v.toFixed(3)}`).join(', ');
    tr.cells[3].textContent = Object.entries(r.learning || {}).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ');
  });
}

function setStatus(s) {
  const el = $('status');
  el.textContent = s;
  el.className = `pill ${s === 'paused' ? 'paused' : s === 'stopped' ? 'stopped' : ''}`;
}

function showControls(c) {
  state.controls = c;
  $('pause').textContent = c.paused ? 'Resume' : 'Pause';
  $('critic').checked = c.critic;
  if (document.activeElement !== $('speed')) $('speed').value = c.episodes_per_s;
  setStatus(!c.running ? 'stopped' : c.paused ? 'paused' : 'running');
}

async function refreshState() {
  const { data } = await api('/brain/state');
  showControls(data.controls);
  $('treats').textContent = data.counters.treats;
  $('person-ratings').textContent = data.counters.person_ratings;
  if (data.episode && data.episode.episode) { state.latest = data.episode; state.dirty = true; }
  $('waiting').hidden = !data.waiting_for_rating;
  return data;
}

// ---- teaching -------------------------------------------------------------------------------

// `clicked`: the click's event.timeStamp; the time from it to the answer (the rating applied,
// the hypothalamus's dopamine in hand) is kept in state.latencies (bench/dashboard.mjs reads it).
async function feedback(body, clicked) {
  const a = state.latest;
  if (a) body.episode = a.episode;
  try {
    const { data } = await api('/brain/feedback', { method: 'POST', body });
    if (clicked !== undefined) {
      state.latencies.push(performance.now() - clicked);
      if (state.latencies.length > 1000) state.latencies.shift();
    }
    $('person-ratings').textContent = Number($('person-ratings').textContent) + 1;
    if (data.heard_as) note('heard', `heard as ${data.heard_as} (valence ${data.valence.toFixed(2)})`);
    if (data.applied) $('dopamine').textContent = data.dopamine.toFixed(3);
    if (data.treat) $('treats').textContent = Number($('treats').textContent) + 1;
    return data;
  } catch (e) {
    note('heard', e.message);
  }
}

async function sendStimulus(blob, type, source) {
  try {
    await api(`/brain/stimulus?source=${source}`, { method: 'POST', body: blob, type });
    return true;
  } catch (e) {
    note('senses-note', e.message);
    return false;
  }
}

async function control(body) {
  try {
    const { data } = await api('/brain/control', { method: 'POST', body });
    showControls(data);
  } catch (e) {
    note('control-note', e.message);
  }
}

// 16-bit PCM mono WAV of `samples` at `rate`.
function wav(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2), v = new DataView(buf);
  const str = (o, s) => [...s].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
  str(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); str(36, 'data'); v.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => v.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 32767, true));
  return new Blob([buf], { type: 'audio/wav' });
}

// A camera frame every 0.7 s, resized to the retina's 28x28, once the last one was answered.
async function useCamera() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  const video = $('video');
  video.srcObject = stream;
  video.hidden = false;
  const side = Math.round(Math.sqrt(state.ports?.image || 784));
  const small = document.createElement('canvas');
  small.width = small.height = side;
  $('camera').classList.add('on');
  state.cameraTimer = setInterval(async () => {
    if (state.sentPending && performance.now() - state.sentPending < 5000) return;
    if (video.readyState < 2) return;
    small.getContext('2d').drawImage(video, 0, 0, side, side);
    const blob = await new Promise((r) => small.toBlob(r, 'image/png'));
    state.sentPending = performance.now();
    state.framesSent = (state.framesSent || 0) + 1;
    if (!(await sendStimulus(blob, 'image/png', 'camera'))) state.sentPending = 0;
  }, 700);
}

// Sound at 16 kHz, cut into the cochlea's window (1.2 s by default), sent once the last was answered.
async function useMicrophone() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const ctx = new AudioContext({ sampleRate: 16000 });
  const src = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const window = state.ports?.audio || 19200;
  let chunk = [];
  proc.onaudioprocess = async (ev) => {
    const x = ev.inputBuffer.getChannelData(0);
    let s = 0;
    for (const v of x) s += v * v;
    const level = $('mic-level').getContext('2d');
    level.clearRect(0, 0, 224, 10);
    level.fillStyle = '#6fd08c';
    level.fillRect(0, 0, Math.min(224, Math.sqrt(s / x.length) * 224 * 4), 10);
    chunk.push(...x);
    if (chunk.length < window) return;
    const piece = chunk.slice(0, window);
    chunk = [];
    if (state.sentPending && performance.now() - state.sentPending < 5000) return;
    state.sentPending = performance.now();
    state.soundsSent = (state.soundsSent || 0) + 1;
    if (!(await sendStimulus(wav(piece, 16000), 'audio/wav', 'microphone'))) state.sentPending = 0;
  };
  src.connect(proc);
  proc.connect(ctx.destination);
  state.mic = { ctx, proc };
  $('microphone').classList.add('on');
}

function wire() {
  $('api-key').value = state.key;
  $('api-key').addEventListener('change', (e) => {
    state.key = e.target.value;
    localStorage.setItem('elarin-api-key', state.key);
    refreshState().catch(() => {});
  });
  $('rate-minus').onclick = (e) => feedback({ rating: -1 }, e.timeStamp);
  $('rate-zero').onclick = (e) => feedback({ rating: 0 }, e.timeStamp);
  $('rate-plus').onclick = (e) => feedback({ rating: 1 }, e.timeStamp);
  $('treat').onclick = (e) => feedback({ treat: true }, e.timeStamp);
  $('words-form').onsubmit = (e) => {
    e.preventDefault();
    const words = $('words').value.trim();
    if (words) feedback({ words });
  };
  $('show-text').onclick = async () => {
    const text = $('words').value.trim();
    if (text) await sendStimulus(text, 'text/plain', 'text');
  };
  $('play').onclick = () => {
    if (!state.sound) return;
    const ctx = new AudioContext({ sampleRate: 16000 });
    const b = ctx.createBuffer(1, state.sound.length, 16000);
    b.copyToChannel(state.sound, 0);
    const s = ctx.createBufferSource();
    s.buffer = b;
    s.connect(ctx.destination);
    s.start();
  };
  $('upload').onchange = async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    const type = f.type || (f.name.endsWith('.wav') ? 'audio/wav' : 'image/png');
    if (await sendStimulus(f, type, 'upload')) note('senses-note', `sent ${f.name}`);
    e.target.value = '';
  };
  $('camera').onclick = () => useCamera().catch((e) => note('senses-note', `camera: ${e.message}`));
  $('microphone').onclick = () => useMicrophone().catch((e) => note('senses-note', `microphone: ${e.message}`));
  $('pause').onclick = () => control({ pause: !state.controls?.paused });
  $('speed').onchange = (e) => control({ episodes_per_s: Math.max(0, Number(e.target.value) || 0) });
  $('critic').onchange = (e) => control({ critic: e.target.checked });
  $('save').onclick = async () => { await control({ save: true }); note('control-note', 'saved'); };
  $('wipe').onclick = async () => {
    if (!confirm('Wipe the brain? Everything it learned is deleted and it grows again.')) return;
    note('control-note', 'wiping: the brain grows again (this takes a while)…');
    await control({ wipe: true, confirm: 'wipe' });
    note('control-note', 'wiped');
  };
  setInterval(() => refreshState().catch(() => {}), 2000);
}

window.elarinDashboard = state;  // for the tests and the curious
wire();
refreshState().then((s) => { state.ports = s.ports; }).catch((e) => console.warn(e.message));
setInterval(render, 200);
followEvents();
