// Loads the UI thread's WebAssembly. Kept as a file (not inline) so the page's
// Content-Security-Policy can forbid inline scripts.
import init from './pkg/app.js';

init().catch((error) => {
  const message = document.createElement('p');
  message.setAttribute('role', 'alert');
  message.setAttribute('data-testid', 'fatal-error');
  message.textContent = 'TopoAct could not start: ' + error + '. It needs a browser with WebAssembly (a current Chromium, Firefox or Safari).';
  document.body.appendChild(message);
});
