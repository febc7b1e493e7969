import type { SectionInfo } from "../sections";

export function ComingSoon({ section }: { section: SectionInfo }) {
  return (
    <div className="screen">
      <header className="screen-head">
        <h1>{section.label}</h1>
      </header>
      <div className="card coming" data-testid="coming-soon">
        <h2>{section.coming?.title ?? section.label}</h2>
        <p className="muted">This section is not built yet. It will hold:</p>
        <ul>
          {section.coming?.points.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}
