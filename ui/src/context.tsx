import { createContext, useContext } from "react";
import type { Backend, Currency, Team, User } from "./backend";

export interface AppContextValue {
  backend: Backend;
  user: User | null;
  currencies: Map<string, Currency>;
  /** Team names by id. */
  teams: Map<string, Team>;
  /** Shows an error to the user in the banner. */
  reportError: (e: unknown) => void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error("useApp outside AppContext");
  return value;
}

/** The name of the user's team, else their title. */
export function teamOf(u: User, teams: Map<string, Team>): string {
  return (u.team_id ? teams.get(u.team_id)?.name : undefined) ?? u.title;
}

/** "Customer Success Manager · Enterprise": what a person does and where. */
export function describeUser(u: User, teams: Map<string, Team>): string {
  const team = u.team_id ? teams.get(u.team_id)?.name : undefined;
  return team && !u.title.includes(team) ? `${u.title} · ${team}` : u.title;
}
