// What every rerun sends for the race: this loader, a couple of hundred bytes (its comments
// and indentation are stripped: optlab/shell/race/__init__.py). The race itself (race.js,
// which loads race.css) is served once by the server's own route under a name that holds
// its content hash, so the browser caches it for good and a new version gets a new name.
// Inline component code would travel in every rerun's message (Streamlit sends a Custom
// Components v2 element's js/css with the element).
// ``ready``: the race module, imported once per page.
let ready;
export default function (c) {
  let gone = false, stop;
  ready = ready || import(new URL("__RACE_JS__", location.href).href);
  ready.then((m) => { if (!gone) stop = m.default(c); }, (e) => console.error("optlab: no race", e));
  return () => { gone = true; if (stop) stop(); };
}
