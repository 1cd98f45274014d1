// The resource page's chart: reads the figure's data attributes and the two column
// selects, fetches the columns through datastore_search and draws them with Vega-Lite
// (vega-embed). A date/number pair is a line, text/number a bar of sums. Vega's
// expression interpreter is used instead of its code generator, so the page's
// Content-Security-Policy needs no 'unsafe-eval'. Without JavaScript the selects are a
// form and the table above is the data.
import { expressionInterpreter } from '/static/vega-interpreter.js';

const MAX_ROWS = 2000;

function draw(figure, xSel, ySel) {
    const canvas = figure.querySelector('.chart-canvas');
    const x = xSel.value;
    const y = ySel.value;
    const xOpt = xSel.selectedOptions[0];
    const temporal = xOpt && xOpt.dataset.type === 'temporal';
    const params = new URLSearchParams({
        resource_id: figure.dataset.resource,
        fields: [x, y].join(','),
        limit: String(MAX_ROWS),
    });
    if (temporal) params.set('sort', `"${x.replaceAll('"', '""')}"`);
    figure.setAttribute('aria-busy', 'true');
    canvas.textContent = figure.dataset.loading;
    fetch(`/api/3/action/datastore_search?${params}`)
        .then((r) => r.json())
        .then((doc) => {
            if (!doc.success) throw new Error(doc.error && doc.error.message);
            const spec = {
                $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
                data: { values: doc.result.records },
                width: 'container',
                height: 300,
                mark: temporal ? { type: 'line', tooltip: true } : { type: 'bar', tooltip: true },
                encoding: temporal
                    ? { x: { field: x, type: 'temporal' },
                        y: { field: y, type: 'quantitative' } }
                    : { x: { field: x, type: 'nominal', sort: '-y' },
                        y: { field: y, type: 'quantitative', aggregate: 'sum' } },
            };
            canvas.textContent = '';
            return window.vegaEmbed(canvas, spec, {
                actions: false, renderer: 'svg', ast: true, expr: expressionInterpreter,
                defaultStyle: false,
            });
        })
        .then(() => {
            figure.dataset.drawn = `${x}|${y}`;
            figure.removeAttribute('aria-busy');
        })
        .catch(() => {
            canvas.textContent = figure.dataset.error;
            figure.removeAttribute('aria-busy');
        });
}

const figure = document.getElementById('chart');
if (figure && window.vegaEmbed) {
    const xSel = document.getElementById('chart-x');
    const ySel = document.getElementById('chart-y');
    xSel.addEventListener('change', () => draw(figure, xSel, ySel));
    ySel.addEventListener('change', () => draw(figure, xSel, ySel));
    draw(figure, xSel, ySel);
}
