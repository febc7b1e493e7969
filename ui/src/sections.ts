export type Section = "worklist" | "accounts" | "cockpit" | "escalations" | "dashboards" | "rules" | "import" | "settings";

export interface SectionInfo {
  id: Section;
  label: string;
  icon: string;
}

export const SECTIONS: SectionInfo[] = [
  { id: "worklist", label: "Worklist", icon: "☰" },
  { id: "accounts", label: "Accounts", icon: "▦" },
  { id: "cockpit", label: "Cockpit", icon: "✓" },
  { id: "escalations", label: "Escalations", icon: "▲" },
  { id: "dashboards", label: "Dashboards", icon: "◔" },
  { id: "rules", label: "Rules", icon: "⚙" },
  { id: "import", label: "Import", icon: "⇪" },
  { id: "settings", label: "Settings", icon: "⚒" },
];
