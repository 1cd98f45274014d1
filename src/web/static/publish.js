// The publisher pages' script (served from the binary as /static/publish.js; an ES
// module, loaded deferred; no inline script anywhere, as the Content-Security-Policy
// wants). Both pages work without it: the upload form posts as a plain multipart form,
// the ingest status page says to reload it.
//
// - form[data-upload]: sends the form with XMLHttpRequest to show the upload's progress
//   (its upload "progress" events) in the form's <progress>, then goes where the server
//   sent it (the resource's ingest status page). A refused form comes back as the page's
//   new <main>, its errors next to their fields.
// - #ingest-live[data-done="false"]: fetches the page again every two seconds and puts
//   the new state in place (a polite live region) until data-done is "true", then the
//   links below it too (the column types link appears once the ingest ended).

function uploadForm(form) {
    const bar = form.querySelector('progress');
    const barBox = bar ? bar.closest('.progress') : null;
    const status = form.querySelector('.upload-status');
    const say = (text) => { if (status) status.textContent = text; };

    form.addEventListener('submit', (ev) => {
        if (!window.FormData || !window.XMLHttpRequest) return; // the plain form does it
        ev.preventDefault();
        const button = form.querySelector('button[type="submit"]');
        const xhr = new XMLHttpRequest();
        xhr.open('POST', form.action);
        if (barBox) barBox.hidden = false;
        if (button) button.disabled = true;
        xhr.upload.addEventListener('progress', (e) => {
            if (!e.lengthComputable || !bar) return;
            const pct = Math.floor((e.loaded / e.total) * 100);
            bar.value = pct;
            bar.textContent = pct + '%';
            say((form.dataset.msgUploading || 'Uploading') + ' ' + pct + '%');
        });
        xhr.upload.addEventListener('load', () => {
            if (bar) bar.value = 100;
            say(form.dataset.msgUploaded || 'Uploaded');
        });
        xhr.addEventListener('load', () => {
            if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL &&
                new URL(xhr.responseURL).pathname !== new URL(form.action).pathname) {
                window.location.assign(xhr.responseURL); // the ingest status page
                return;
            }
            // The form again with its errors: the new <main> in place of this one.
            const doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
            const main = doc.querySelector('main');
            if (main) {
                document.querySelector('main').replaceWith(document.adoptNode(main));
                const f = document.querySelector('form[data-upload]');
                if (f) uploadForm(f);
                const summary = document.getElementById('errors');
                if (summary) summary.focus();
            }
        });
        xhr.addEventListener('error', () => {
            if (button) button.disabled = false;
            say(form.dataset.msgFailed || 'The upload failed');
        });
        xhr.send(new FormData(form));
    });
}

function followIngest(live) {
    const tick = async () => {
        let doc;
        try {
            const resp = await fetch(window.location.href,
                                     { credentials: 'same-origin', cache: 'no-store' });
            doc = new DOMParser().parseFromString(await resp.text(), 'text/html');
        } catch (e) {
            window.setTimeout(tick, 4000);
            return;
        }
        const next = doc.getElementById('ingest-live');
        if (next) {
            live.innerHTML = next.innerHTML;
            live.dataset.done = next.dataset.done;
        }
        const actions = doc.querySelector('ul.actions');
        const here = document.querySelector('ul.actions');
        if (actions && here) here.innerHTML = actions.innerHTML;
        if (live.dataset.done !== 'true') window.setTimeout(tick, 2000);
    };
    window.setTimeout(tick, 1000);
}

for (const form of document.querySelectorAll('form[data-upload]')) uploadForm(form);
const live = document.getElementById('ingest-live');
if (live && live.dataset.done === 'false') followIngest(live);
