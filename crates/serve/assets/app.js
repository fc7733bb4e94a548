// patrol serve: the import and merge forms, the patrol map, the edit forms, the conflicts' buttons. No framework, no
// network but this server; text is put in with textContent, never as HTML.
'use strict';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// The session's CSRF token (when the server has users who log in): every
// change sends it in X-CSRF-Token.
function csrfHeaders() {
  const m = document.querySelector('meta[name=csrf-token]');
  return m ? { 'X-CSRF-Token': m.getAttribute('content') } : {};
}

// A box files are dropped on, for a file input: `changed` when they are.
function dropZone(drop, input, changed) {
  input.addEventListener('change', changed);
  ['dragenter', 'dragover'].forEach(t => drop.addEventListener(t, ev => {
    ev.preventDefault(); drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach(t => drop.addEventListener(t, ev => {
    ev.preventDefault(); drop.classList.remove('over');
  }));
  drop.addEventListener('drop', ev => {
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      changed();
    }
  });
  changed();
}

// The names of the files an input holds, in `chosen`.
function showFiles(input, chosen) {
  chosen.textContent = '';
  const files = Array.from(input.files || []);
  if (files.length === 0) { chosen.textContent = 'No file chosen yet.'; return; }
  chosen.append(el('strong', files.length + (files.length === 1 ? ' file: ' : ' files: ')));
  chosen.append(document.createTextNode(files.map(f => f.name).join(', ')));
}

// ---- /import ----------------------------------------------------------
function setupImport() {
  const form = document.getElementById('import-form');
  if (!form) return;
  const input = form.querySelector('input[type=file]');
  const drop = document.getElementById('drop');
  const chosen = document.getElementById('chosen');
  const button = form.querySelector('button[type=submit]');
  const out = document.getElementById('results');

  const showChosen = () => showFiles(input, chosen);
  dropZone(drop, input, showChosen);

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    if (!input.files || input.files.length === 0) {
      out.textContent = '';
      out.append(el('p', 'Choose one or more GPX files first.', 'error'));
      return;
    }
    button.disabled = true;
    const label = button.textContent;
    button.textContent = 'Importing…';
    out.textContent = '';
    out.append(el('p', 'Importing ' + input.files.length + ' file(s)…', 'muted'));
    try {
      const resp = await fetch('/api/import', { method: 'POST', body: new FormData(form), headers: csrfHeaders() });
      const body = await resp.json();
      out.textContent = '';
      if (!resp.ok) {
        out.append(el('p', body.error || ('The server answered ' + resp.status), 'error'));
      } else {
        out.append(resultTable(body));
        out.scrollIntoView({ block: 'nearest' });
        // The team, transport and people stay for the next files.
        input.value = '';
        showChosen();
      }
    } catch (e) {
      out.textContent = '';
      out.append(el('p', 'The import did not finish: ' + e, 'error'));
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}

function resultTable(reports) {
  const wrap = el('div');
  const counts = {};
  reports.forEach(r => { counts[r.status] = (counts[r.status] || 0) + 1; });
  wrap.append(el('h2', 'Result: ' + Object.entries(counts).map(([k, v]) => v + ' ' + k).join(', ')));
  const t = el('table');
  t.id = 'result-table';
  const head = el('tr');
  [['file'], ['status'], ['patrol'], ['points', 'n'], ['km', 'n'], ['warnings and errors']]
    .forEach(([h, c]) => head.append(el('th', h, c)));
  t.append(head);
  reports.forEach(r => {
    const tr = el('tr');
    tr.append(el('td', r.file));
    tr.append(el('td', r.status, 'status-' + r.status));
    const p = el('td');
    if (r.patrol_id) {
      const a = el('a', r.short_id || r.patrol_id);
      a.href = '/patrols/' + encodeURIComponent(r.patrol_id);
      p.append(a);
    } else {
      p.textContent = '-';
    }
    tr.append(p);
    tr.append(el('td', r.track_points, 'n'));
    tr.append(el('td', (r.counted_length_m / 1000).toFixed(3), 'n'));
    const notes = el('td');
    if (r.error) notes.append(el('div', r.error, 'status-failed'));
    (r.warnings || []).forEach(w => notes.append(el('div', w.message)));
    tr.append(notes);
    t.append(tr);
  });
  wrap.append(t);
  // The month in the site's zone, as the list counts it (not UTC's).
  const form = document.getElementById('import-form');
  const zone = form && form.dataset.zone;
  const localMonth = t => {
    try {
      const parts = new Intl.DateTimeFormat('en', { timeZone: zone || 'UTC', year: 'numeric', month: '2-digit' })
        .formatToParts(new Date(t));
      const part = type => parts.find(p => p.type === type).value;
      return part('year') + '-' + part('month');
    } catch (e) {
      return t.slice(0, 7);
    }
  };
  const months = new Set(reports.filter(r => r.first_time).map(r => localMonth(r.first_time)));
  if (months.size) {
    const p = el('p');
    p.append(document.createTextNode('See the patrols of '));
    Array.from(months).sort().forEach((m, i) => {
      if (i) p.append(document.createTextNode(', '));
      const a = el('a', m);
      a.href = '/?month=' + encodeURIComponent(m);
      p.append(a);
    });
    p.append(document.createTextNode('.'));
    wrap.append(p);
  }
  return wrap;
}

// ---- /patrols/{id}: the map --------------------------------------------
function setupMap() {
  const box = document.getElementById('map');
  const dataEl = document.getElementById('map-data');
  if (!box || !dataEl || !window.L) return;
  const data = JSON.parse(dataEl.textContent);
  // The boundary, the track and the observations, on the offline basemap
  // when the server has one (serve --basemap), else on a plain background.
  // The zoom range is the map's own, not the basemap's: past its deepest
  // level its tiles are drawn larger.
  const map = L.map(box, {
    crs: L.CRS.EPSG3857, attributionControl: false, zoomSnap: 0.25, minZoom: 0, maxZoom: 22,
  });
  const base = data.basemap;
  if (base) {
    const opts = { minZoom: base.minzoom, maxNativeZoom: base.maxzoom, maxZoom: 22, className: 'basemap' };
    if (base.bounds) {
      const [w, s, e, n] = base.bounds;
      opts.bounds = L.latLngBounds([s, w], [n, e]);
    }
    L.tileLayer('/tiles/{z}/{x}/{y}', opts).addTo(map);
    if (base.attribution) {
      // Leaflet puts attributions in as HTML: the file's is text, escaped here.
      const text = el('span', base.attribution);
      L.control.attribution({ prefix: false }).addAttribution(text.innerHTML).addTo(map);
    }
  }
  const ll = p => [p[1], p[0]];
  const bounds = L.latLngBounds([]);
  (data.boundary || []).forEach(poly => {
    const layer = L.polygon(poly.map(ring => ring.map(ll)),
      { color: '#2e6b3a', weight: 2, fillColor: '#cfe3c9', fillOpacity: 0.35, interactive: false });
    layer.addTo(map);
    if (!(data.lines || []).length) bounds.extend(layer.getBounds());
  });
  (data.lines || []).forEach(line => {
    const layer = L.polyline(line.map(ll), { color: '#c0392b', weight: 3, className: 'track' });
    layer.addTo(map);
    bounds.extend(layer.getBounds());
  });
  (data.observations || []).forEach(o => {
    if (!isFinite(o.lat) || !isFinite(o.lon)) return;
    const m = L.circleMarker([o.lat, o.lon], {
      radius: 6, color: '#222', weight: 1, fillColor: o.threat ? '#e67e22' : '#2980b9', fillOpacity: 0.9,
    });
    m.bindTooltip(o.label);
    m.addTo(map);
    bounds.extend([o.lat, o.lon]);
  });
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
  } else {
    map.setView([0, 0], 2);
  }
  L.control.scale({ imperial: false }).addTo(map);
  return map;
}

// ---- /patrols/{id}: the "Add an observation" form ----------------------
// The category's attributes come from the data model embedded in the page;
// the server checks the values by the core's rule and says what is wrong.
function attributeInput(a) {
  const id = 'attr-' + a.key;
  let input;
  const pad = d => '\u00a0\u00a0'.repeat(d);
  if (a.type === 'numeric') {
    input = el('input');
    input.type = 'number';
    input.step = 'any';
    if (a.min !== null && a.min !== undefined) input.min = a.min;
    if (a.max !== null && a.max !== undefined) input.max = a.max;
  } else if (a.type === 'boolean') {
    input = el('select');
    if (!a.required) input.append(new Option('', ''));
    else input.append(new Option('choose…', ''));
    input.append(new Option('yes', 'yes'));
    input.append(new Option('no', 'no'));
  } else if (a.type === 'list' || a.type === 'tree') {
    input = el('select');
    input.append(new Option(a.required ? 'choose…' : '', ''));
    (a.items || []).forEach(i => input.append(new Option(pad(i.depth || 0) + i.label, i.key)));
  } else {
    input = el('input');
    input.type = 'text';
    if (a.pattern) {
      input.placeholder = a.pattern;
      input.title = 'matching ' + a.pattern;
    }
  }
  input.id = id;
  input.name = 'attributes[' + a.key + ']';
  input.dataset.attr = a.key;
  if (a.required) input.required = true;
  const label = el('label', a.label);
  label.htmlFor = id;
  if (a.required) { label.append(' '); const r = el('span', '*', 'req'); r.title = 'required'; label.append(r); }
  const cell = el('span');
  cell.append(input);
  if (a.type === 'numeric' && a.unit) cell.append(el('span', ' ' + a.unit, 'muted'));
  if (a.type === 'text' && a.pattern) cell.append(el('span', ' like ' + a.pattern, 'muted'));
  return [label, cell];
}

function setupObservationForm(map) {
  const form = document.getElementById('observation-form');
  const modelEl = document.getElementById('form-model');
  if (!form || !modelEl) return;
  const model = JSON.parse(modelEl.textContent);
  const select = document.getElementById('obs-category');
  const box = document.getElementById('obs-attributes');
  const lat = document.getElementById('obs-lat');
  const lon = document.getElementById('obs-lon');
  const out = document.getElementById('obs-result');
  const button = document.getElementById('obs-save');
  model.categories.forEach(c => {
    select.append(new Option('\u00a0\u00a0'.repeat(c.depth) + c.label, c.key));
  });
  function showAttributes() {
    box.textContent = '';
    const c = model.categories.find(c => c.key === select.value);
    if (!c) return;
    c.attributes.forEach(a => attributeInput(a).forEach(e => box.append(e)));
  }
  select.addEventListener('change', showAttributes);
  showAttributes();

  let marker = null;
  function showPlace() {
    const la = parseFloat(lat.value), lo = parseFloat(lon.value);
    if (!map || !isFinite(la) || !isFinite(lo)) return;
    if (!marker) {
      marker = L.marker([la, lo], { title: 'the new observation' }).addTo(map);
    } else {
      marker.setLatLng([la, lo]);
    }
  }
  if (map) {
    map.getContainer().style.cursor = 'crosshair';
    map.on('click', ev => {
      lat.value = ev.latlng.lat.toFixed(6);
      lon.value = ev.latlng.lng.toFixed(6);
      showPlace();
    });
  }
  lat.addEventListener('change', showPlace);
  lon.addEventListener('change', showPlace);

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = {
      patrol: form.elements.patrol.value,
      category: select.value,
      lat: lat.value,
      lon: lon.value,
      time: form.elements.time.value,
      note: form.elements.note.value,
      attributes: {},
    };
    box.querySelectorAll('[data-attr]').forEach(i => {
      if (i.value !== '') body.attributes[i.dataset.attr] = i.value;
    });
    button.disabled = true;
    out.textContent = '';
    try {
      const headers = Object.assign({ 'Content-Type': 'application/json' }, csrfHeaders());
      const resp = await fetch('/api/observations', { method: 'POST', body: JSON.stringify(body), headers });
      const answer = await resp.json();
      if (!resp.ok) {
        out.append(el('p', answer.error || ('The server answered ' + resp.status), 'error'));
        button.disabled = false;
        return;
      }
      out.append(el('p', 'Saved ' + answer.short_id + '.', 'muted'));
      // The table and the map show it after the reload; land on the table.
      window.location.hash = 'obs-' + answer.short_id;
      window.location.reload();
    } catch (e) {
      out.append(el('p', 'The observation was not saved: ' + e, 'error'));
      button.disabled = false;
    }
  });
}

// ---- editing: every form.api-form posts with fetch and the CSRF header --
// The server answers the CLI's JSON; on success the page named by the
// form's `next` is shown again, on a refusal its message stays on the page.
// A form marked data-changed sends only the fields a person changed.
function unchanged(e) {
  if (e.tagName === 'SELECT') {
    return Array.from(e.options).every(o => o.selected === o.defaultSelected);
  }
  return e.value === e.defaultValue;
}

function setupApiForms() {
  document.querySelectorAll('form.api-form').forEach(form => {
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      let out = form.querySelector('.result');
      if (!out) {
        out = el('span', null, 'result');
        out.setAttribute('role', 'status');
        form.append(out);
      }
      out.textContent = '';
      const data = new URLSearchParams();
      const onlyChanged = form.dataset.changed !== undefined;
      for (const e of Array.from(form.elements)) {
        if (!e.name || e.disabled || e.name === 'csrf' || e.name === 'next') continue;
        if (onlyChanged && unchanged(e)) continue;
        data.append(e.name, e.value);
      }
      if (form.extraFields) form.extraFields(data);
      const buttons = form.querySelectorAll('button');
      buttons.forEach(b => { b.disabled = true; });
      try {
        const resp = await fetch(form.action, { method: 'POST', body: data, headers: csrfHeaders() });
        const answer = await resp.json();
        if (!resp.ok) {
          out.append(el('p', answer.error || ('The server answered ' + resp.status), 'error'));
          return;
        }
        const next = form.elements.next ? form.elements.next.value : window.location.pathname;
        const u = new URL(next, window.location.href);
        if (u.pathname === window.location.pathname) {
          window.location.reload();
        } else {
          window.location.assign(u.href);
        }
      } catch (e) {
        out.append(el('p', 'Nothing was changed: ' + e, 'error'));
      } finally {
        buttons.forEach(b => { b.disabled = false; });
      }
    });
  });
}

// The observation's edit page: the category's attributes from the same form
// model as the add form, filled with the observation's values.
function setupObservationEdit() {
  const form = document.getElementById('observation-edit-form');
  const modelEl = document.getElementById('form-model');
  const valuesEl = document.getElementById('obs-values');
  if (!form || !modelEl || !valuesEl) return;
  const model = JSON.parse(modelEl.textContent);
  const values = JSON.parse(valuesEl.textContent) || {};
  const select = document.getElementById('obs-category');
  const box = document.getElementById('obs-attributes');
  function text(v) {
    if (v === true) return 'yes';
    if (v === false) return 'no';
    return String(v);
  }
  function showAttributes() {
    box.textContent = '';
    const c = model.categories.find(c => c.key === select.value);
    if (!c) return;
    c.attributes.forEach(a => {
      const [label, cell] = attributeInput(a);
      const input = cell.querySelector('[data-attr]');
      if (Object.prototype.hasOwnProperty.call(values, a.key)) {
        const v = text(values[a.key]);
        if (input.tagName === 'SELECT') {
          Array.from(input.options).forEach(o => {
            o.defaultSelected = o.value === v;
            o.selected = o.value === v;
          });
        } else {
          input.defaultValue = v;
          input.value = v;
        }
      }
      box.append(label, cell);
    });
  }
  select.addEventListener('change', showAttributes);
  showAttributes();
  // Values the shown category does not take are removed (KEY= removes one).
  form.extraFields = data => {
    const shown = new Set(Array.from(box.querySelectorAll('[data-attr]')).map(i => i.dataset.attr));
    Object.keys(values).forEach(k => {
      if (!shown.has(k)) data.append('attributes[' + k + ']', '');
    });
  };
}

// ---- /sync: merge files, keep a version of a conflict -------------------
function setupSync() {
  const form = document.getElementById('merge-form');
  if (form) {
    const input = document.getElementById('merge-file');
    const drop = document.getElementById('merge-drop');
    const chosen = document.getElementById('merge-chosen');
    const button = document.getElementById('merge-button');
    const out = document.getElementById('merge-results');
    const showChosen = () => showFiles(input, chosen);
    dropZone(drop, input, showChosen);
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      out.textContent = '';
      if (!input.files || input.files.length === 0) {
        out.append(el('p', 'Choose one or more exported files first.', 'error'));
        return;
      }
      button.disabled = true;
      out.append(el('p', 'Merging ' + input.files.length + ' file(s)…', 'muted'));
      try {
        const resp = await fetch('/api/merge', { method: 'POST', body: new FormData(form), headers: csrfHeaders() });
        const body = await resp.json();
        out.textContent = '';
        if (!resp.ok) {
          out.append(el('p', body.error || ('The server answered ' + resp.status), 'error'));
        } else {
          out.append(mergeTable(body));
          input.value = '';
          showChosen();
          await refreshSections(['conflicts', 'ledger']);
        }
      } catch (e) {
        out.textContent = '';
        out.append(el('p', 'The merge did not finish: ' + e, 'error'));
      } finally {
        button.disabled = false;
      }
    });
  }
  // The conflicts' buttons (the section is put in anew after a merge).
  document.addEventListener('submit', async ev => {
    const f = ev.target;
    if (!f.classList || !f.classList.contains('keep-form')) return;
    ev.preventDefault();
    const said = f.querySelector('.keep-result');
    const button = f.querySelector('button');
    said.textContent = '';
    button.disabled = true;
    try {
      const headers = Object.assign({ 'Content-Type': 'application/json' }, csrfHeaders());
      const body = JSON.stringify({ record: f.elements.record.value, keep: f.elements.keep.value });
      const resp = await fetch('/api/conflicts/resolve', { method: 'POST', body, headers });
      const answer = await resp.json();
      if (!resp.ok) {
        said.append(el('span', answer.error || ('The server answered ' + resp.status), 'error'));
        button.disabled = false;
        return;
      }
      await refreshSections(['conflicts']);
      const done = document.getElementById('conflicts');
      const p = el('p', 'Kept version ' + answer.kept_version_id + ' of ' + answer.kind + ' ' + answer.short_id + '.', 'done');
      p.id = 'resolved';
      done.querySelector('h2').after(p);
    } catch (e) {
      said.append(el('span', 'Not resolved: ' + e, 'error'));
      button.disabled = false;
    }
  });
}

// Put in the sections of this page anew, as the server makes them now.
async function refreshSections(ids) {
  const resp = await fetch(window.location.pathname, { headers: { Accept: 'text/html' } });
  if (!resp.ok) return;
  const page = new DOMParser().parseFromString(await resp.text(), 'text/html');
  ids.forEach(id => {
    const now = page.getElementById(id);
    const old = document.getElementById(id);
    if (now && old) old.replaceWith(document.importNode(now, true));
  });
}

function mergeTable(reports) {
  const wrap = el('div');
  const counts = {};
  reports.forEach(r => { counts[r.status] = (counts[r.status] || 0) + 1; });
  wrap.append(el('h3', 'Result: ' + Object.entries(counts).map(([k, v]) => v + ' ' + k).join(', ')));
  const t = el('table');
  t.id = 'merge-table';
  const head = el('tr');
  [['file'], ['status'], ['new versions', 'n'], ['added', 'n'], ['changed', 'n'], ['conflicts', 'n'],
    ['quarantined', 'n'], ['track pieces', 'n'], ['error']].forEach(([h, c]) => head.append(el('th', h, c)));
  t.append(head);
  reports.forEach(r => {
    const tr = el('tr');
    tr.append(el('td', r.file));
    tr.append(el('td', r.status, 'status-' + r.status));
    ['new_versions', 'records_added', 'records_changed', 'conflicts', 'quarantined', 'track_pieces']
      .forEach(k => tr.append(el('td', r[k], 'n')));
    tr.append(el('td', r.error || '', r.error ? 'status-rejected' : ''));
    t.append(tr);
  });
  wrap.append(t);
  if (reports.some(r => r.conflicts > 0)) {
    wrap.append(el('p', 'Some records were edited on two devices: see Conflicts below.', 'warn'));
  }
  return wrap;
}

document.addEventListener('DOMContentLoaded', () => {
  setupImport();
  setupSync();
  const map = setupMap();
  setupObservationForm(map);
  setupObservationEdit();
  setupApiForms();
});
