import { useState } from 'react';
import { useEventTypes } from '../queries.ts';
import { sampleEvent } from '../samples.ts';
import { CopyButton, Empty, ErrorBox, Json, Loading } from '../ui.tsx';

export function EventTypesPage() {
  const types = useEventTypes();
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="types-title">
      <div className="page-head">
        <h1 id="types-title">Event types</h1>
        <span className="muted">The catalog the VoiceOI platform sends; subscribe destinations to any of them.</span>
      </div>
      {types.isPending ? (
        <Loading />
      ) : types.error ? (
        <ErrorBox error={types.error} />
      ) : types.data.length === 0 ? (
        <Empty>The catalog is empty.</Empty>
      ) : (
        <ul className="catalog">
          {types.data.map((t) => {
            const sample = sampleEvent(t.type);
            const expanded = open === t.type;
            return (
              <li key={t.type} className="card">
                <div className="catalog-head">
                  <h2>
                    <code>{t.type}</code>
                  </h2>
                  <p>{t.description}</p>
                  <button type="button" aria-expanded={expanded} aria-controls={`type-${t.type}`} onClick={() => setOpen(expanded ? null : t.type)}>
                    {expanded ? 'Hide' : 'Show'} schema and sample
                  </button>
                </div>
                {expanded && (
                  <div id={`type-${t.type}`} className="two">
                    <div>
                      <h3>Schema</h3>
                      <Json value={t.schema} label={`${t.type} schema`} />
                    </div>
                    <div>
                      <h3>
                        Sample payload <CopyButton text={JSON.stringify(sample, null, 2)} />
                      </h3>
                      <Json value={sample} label={`${t.type} sample`} />
                    </div>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
