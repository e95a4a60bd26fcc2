// The notes Phoenix gives the backups it takes before a deletion: the guard writes them (provisioners/backup/) and
// the CLI (`phoenix backups`, `phoenix restore`) and the guard's retention recognize its own by their first line.
export const GUARD_NOTES = "phoenix: before deleting";

export function guardNotes(guest: string): string {
  return `${GUARD_NOTES} ${guest}`;
}

export function isGuardBackup(notes: string | undefined): boolean {
  return (notes ?? "").startsWith(GUARD_NOTES);
}
