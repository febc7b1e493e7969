export type Section = "worklist" | "accounts" | "cockpit" | "escalations" | "dashboards" | "rules" | "settings";

export interface SectionInfo {
  id: Section;
  label: string;
  icon: string;
  /** What the section will hold, shown until it is built. */
  coming?: { title: string; points: string[] };
}

export const SECTIONS: SectionInfo[] = [
  { id: "worklist", label: "Worklist", icon: "☰" },
  { id: "accounts", label: "Accounts", icon: "▦" },
  { id: "cockpit", label: "Cockpit", icon: "✓" },
  { id: "escalations", label: "Escalations", icon: "▲" },
  {
    id: "dashboards",
    label: "Dashboards",
    icon: "◔",
    coming: {
      title: "Risk dashboards and reports",
      points: [
        "ARR at risk by severity, category, segment and owner, and how it moves over time",
        "Escalation funnel, churn reasons and attrition by segment and tenure",
        "The monthly risk report and the quarterly root-cause review",
      ],
    },
  },
  { id: "rules", label: "Rules", icon: "⚙" },
  { id: "settings", label: "Settings", icon: "⚒" },
];
