// What every rerun sends for the race: this loader, a few hundred bytes. The race itself
// (race.js, race.css: 31 KB) is served once by the server's own route under a name that
// holds its content hash, so the browser caches it for good and a new version gets a new
// name. Inline component code would travel in every rerun's message (Streamlit sends a
// Custom Components v2 element's js/css with the element).
const JS = new URL("__RACE_JS__", window.location.href).href;
const CSS = new URL("__RACE_CSS__", window.location.href).href;
let ready = null; // the race module, once per page

function styles() {
  if (document.querySelector(`link[data-optlab-race]`)) return Promise.resolve();
  return new Promise((resolve) => {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: CSS });
    link.dataset.optlabRace = "1";
    link.onload = link.onerror = () => resolve();
    document.head.appendChild(link);
  });
}

export default function (component) {
  ready = ready || Promise.all([import(JS), styles()]).then(([mod]) => mod.default);
  let cleanup = null;
  let gone = false;
  ready.then(
    (race) => { if (!gone) cleanup = race(component); },
    (err) => console.error("optlab: the race could not be loaded", err),
  );
  return () => {
    gone = true;
    if (typeof cleanup === "function") cleanup();
  };
}
