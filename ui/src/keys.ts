/** Keys typed here are text, not shortcuts; a ticked checkbox keeps the shortcuts. */
export function isTextEntry(el: HTMLElement): boolean {
  if (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable) return true;
  return el.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes((el as HTMLInputElement).type);
}
