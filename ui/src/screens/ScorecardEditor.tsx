import { useEffect, useMemo, useState } from "react";
import type { MeasureConfig, MeasureInfo, MeasureKind, Scorecard, ScorecardDefinition, Segment, Stage } from "../backend";
import { useApp } from "../context";
import { segmentLabel, stageLabel } from "../format";
import { formatPoints, parsePoints } from "../scorecardForm";

interface MeasureDraft {
  kind: MeasureKind;
  weight: string;
  group: string;
  type: "linear" | "steps";
  points: string;
}

interface Draft {
  id: string | null;
  name: string;
  description: string;
  segments: Segment[];
  stages: Stage[];
  measures: MeasureDraft[];
  bands: Array<{ name: string; min: string; color: string }>;
  /** Percent of the measures' weight that must have data for a score. */
  minCoverage: string;
}

function toDraft(c: Scorecard): Draft {
  const d = c.definition;
  return {
    id: c.id,
    name: c.name,
    description: d.description,
    segments: d.segments,
    stages: d.stages,
    measures: d.measures.map((m) => ({ kind: m.kind, weight: String(m.weight), group: m.group ?? "", type: m.mapping.type, points: formatPoints(m.mapping.points) })),
    bands: d.bands.map((b) => ({ name: b.name, min: String(b.min), color: b.color })),
    minCoverage: String(Math.round((d.min_coverage ?? 0.5) * 100)),
  };
}

/** The draft as a definition, or the first problem found in the form. */
function toDefinition(d: Draft, labels: Map<MeasureKind, string>): ScorecardDefinition | string {
  const measures: MeasureConfig[] = [];
  for (const m of d.measures) {
    const label = labels.get(m.kind) ?? m.kind;
    const points = parsePoints(m.points);
    if (typeof points === "string") return `${label}: ${points}`;
    const weight = Number(m.weight);
    if (!m.weight.trim() || Number.isNaN(weight)) return `${label}: the weight is not a number`;
    measures.push({ kind: m.kind, weight, group: m.group.trim() || null, mapping: { type: m.type, points } });
  }
  const bands = [];
  for (const b of d.bands) {
    const min = Number(b.min);
    if (!b.min.trim() || Number.isNaN(min)) return `band ${b.name || "(unnamed)"}: “from” is not a number`;
    bands.push({ name: b.name, min, color: b.color });
  }
  const coverage = Number(d.minCoverage);
  if (!d.minCoverage.trim() || Number.isNaN(coverage) || coverage < 0 || coverage > 100) return "data needed for a score: a percentage from 0 to 100";
  return { description: d.description, segments: d.segments, stages: d.stages, measures, bands, min_coverage: coverage / 100 };
}

function toggle<T>(list: T[], item: T): T[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}

export function ScorecardEditor() {
  const { backend, reportError } = useApp();
  const [cards, setCards] = useState<Scorecard[]>([]);
  const [kinds, setKinds] = useState<MeasureInfo[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    backend
      .listScorecards()
      .then((list) => {
        setCards(list);
        if (list[0]) setDraft(toDraft(list[0]));
      })
      .catch(reportError);
    backend.measureKinds().then(setKinds).catch(reportError);
  }, [backend, reportError]);

  const labels = useMemo(() => new Map(kinds.map((k) => [k.kind, k.label])), [kinds]);
  const units = useMemo(() => new Map(kinds.map((k) => [k.kind, k.unit])), [kinds]);
  const update = (f: (d: Draft) => Draft) => {
    setSaved(null);
    setProblem(null);
    setDraft((d) => (d ? f(d) : d));
  };

  const save = async () => {
    if (!draft) return;
    const definition = toDefinition(draft, labels);
    if (typeof definition === "string") {
      setProblem(definition);
      return;
    }
    try {
      const card = await backend.saveScorecard(draft.id, draft.name, definition);
      setCards((list) => (list.some((c) => c.id === card.id) ? list.map((c) => (c.id === card.id ? card : c)) : [...list, card]));
      setDraft(toDraft(card));
      setSaved(`Saved as version ${card.version}. Scores use it from the next recompute; past history keeps the measures it was computed with.`);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };

  const unused = kinds.filter((k) => !draft?.measures.some((m) => m.kind === k.kind));

  return (
    <div className="scorecards">
      <aside className="card scorecard-list">
        <h2>Scorecards</h2>
        <ul>
          {cards.map((c) => (
            <li key={c.id}>
              <button className={draft?.id === c.id ? "active" : ""} onClick={() => { setDraft(toDraft(c)); setProblem(null); setSaved(null); }} data-testid="scorecard-item">
                <strong>{c.name}</strong>
                <small className="muted">
                  {[...c.definition.segments.map((s) => segmentLabel[s]), ...c.definition.stages.map((s) => stageLabel[s])].join(", ") || "All accounts"} · v{c.version}
                </small>
              </button>
            </li>
          ))}
        </ul>
        {draft && (
          <button className="link" onClick={() => update((d) => ({ ...d, id: null, name: `${d.name} (copy)` }))}>
            + New scorecard from this one
          </button>
        )}
      </aside>
      {draft && (
        <section className="card scorecard-form" data-testid="scorecard-form">
          <div className="form-row">
            <label className="field grow">
              <span>Name</span>
              <input value={draft.name} onChange={(e) => update((d) => ({ ...d, name: e.target.value }))} data-testid="scorecard-name" />
            </label>
            <label className="field grow">
              <span>Description</span>
              <input value={draft.description} onChange={(e) => update((d) => ({ ...d, description: e.target.value }))} />
            </label>
          </div>
          <div className="form-row">
            <fieldset>
              <legend>Segments (none = all)</legend>
              {(Object.keys(segmentLabel) as Segment[]).map((s) => (
                <label key={s} className="check">
                  <input type="checkbox" checked={draft.segments.includes(s)} onChange={() => update((d) => ({ ...d, segments: toggle(d.segments, s) }))} />
                  {segmentLabel[s]}
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Stages (none = all)</legend>
              {(Object.keys(stageLabel) as Stage[]).map((s) => (
                <label key={s} className="check">
                  <input type="checkbox" checked={draft.stages.includes(s)} onChange={() => update((d) => ({ ...d, stages: toggle(d.stages, s) }))} />
                  {stageLabel[s]}
                </label>
              ))}
            </fieldset>
          </div>
          <h3>Measures</h3>
          <table className="measures editor">
            <thead>
              <tr>
                <th>Measure</th>
                <th>Group</th>
                <th className="num">Weight</th>
                <th>Mapping</th>
                <th>Points (raw:score)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {draft.measures.map((m, i) => {
                const set = (patch: Partial<MeasureDraft>) => update((d) => ({ ...d, measures: d.measures.map((x, j) => (j === i ? { ...x, ...patch } : x)) }));
                return (
                  <tr key={m.kind}>
                    <td>
                      {labels.get(m.kind) ?? m.kind}
                      <small className="muted block">{units.get(m.kind)}</small>
                    </td>
                    <td>
                      <input className="narrow" value={m.group} onChange={(e) => set({ group: e.target.value })} />
                    </td>
                    <td className="num">
                      <input className="tiny" value={m.weight} onChange={(e) => set({ weight: e.target.value })} data-testid={`weight-${m.kind}`} />
                    </td>
                    <td>
                      <select value={m.type} onChange={(e) => set({ type: e.target.value as MeasureDraft["type"] })}>
                        <option value="linear">Curve</option>
                        <option value="steps">Thresholds</option>
                      </select>
                    </td>
                    <td>
                      <input className="wide" value={m.points} onChange={(e) => set({ points: e.target.value })} />
                    </td>
                    <td>
                      <button className="link" onClick={() => update((d) => ({ ...d, measures: d.measures.filter((_, j) => j !== i) }))}>
                        Remove
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {unused.length > 0 && (
            <select
              value=""
              onChange={(e) =>
                update((d) => ({ ...d, measures: [...d.measures, { kind: e.target.value as MeasureKind, weight: "10", group: "", type: "linear", points: "0:0, 100:100" }] }))
              }
              aria-label="Add a measure"
            >
              <option value="">+ Add a measure…</option>
              {unused.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          )}
          <label className="coverage-field">
            Data needed for a score:
            <input value={draft.minCoverage} onChange={(e) => update((d) => ({ ...d, minCoverage: e.target.value }))} data-testid="scorecard-min-coverage" />
            % of the measures’ weight (below it: “not enough data”)
          </label>
          <h3>Grading bands (2 to 12, lowest first)</h3>
          <div className="bands">
            {draft.bands.map((b, i) => {
              const set = (patch: Partial<Draft["bands"][number]>) => update((d) => ({ ...d, bands: d.bands.map((x, j) => (j === i ? { ...x, ...patch } : x)) }));
              return (
                <div key={i} className="band-row">
                  <input type="color" value={b.color} onChange={(e) => set({ color: e.target.value })} aria-label="Colour" />
                  <input className="narrow" value={b.name} onChange={(e) => set({ name: e.target.value })} aria-label="Band name" />
                  <span className="muted">from</span>
                  <input className="tiny" value={b.min} onChange={(e) => set({ min: e.target.value })} aria-label="From score" data-testid={`band-min-${i}`} />
                  <button className="link" onClick={() => update((d) => ({ ...d, bands: d.bands.filter((_, j) => j !== i) }))}>
                    Remove
                  </button>
                </div>
              );
            })}
            <button className="link" onClick={() => update((d) => ({ ...d, bands: [...d.bands, { name: "New band", min: "90", color: "#0ea5e9" }] }))}>
              + Add a band
            </button>
          </div>
          {problem && (
            <p className="error-text" role="alert" data-testid="scorecard-problem">
              {problem}
            </p>
          )}
          {saved && <p className="ok">{saved}</p>}
          <div className="actions">
            <button className="button" onClick={save} data-testid="scorecard-save">
              Save scorecard
            </button>
          </div>
        </section>
      )}
    </div>
  );
}
