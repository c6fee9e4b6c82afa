// What one part of the soak counts: work done, differences from what was expected (must stay 0)
// and errors, with the first messages of each kept for the report.
const keptMessages = 5;

export class Tally {
  done = 0;
  differences = 0;
  errors = 0;
  readonly firstDifferences: string[] = [];
  readonly firstErrors: string[] = [];
  private consecutiveErrors = 0;

  constructor(readonly name: string) {}

  difference(what: string): void {
    this.differences++;
    if (this.firstDifferences.length < keptMessages) this.firstDifferences.push(what);
  }

  error(context: string, err: unknown): void {
    this.errors++;
    this.consecutiveErrors++;
    if (this.firstErrors.length < keptMessages) this.firstErrors.push(`${context}: ${err instanceof Error ? err.message : String(err)}`);
  }

  success(): void {
    this.done++;
    this.consecutiveErrors = 0;
  }

  /** True once errors keep coming back to back: the thing under test is gone, going on would
   *  only repeat the same error. */
  get givenUp(): boolean {
    return this.consecutiveErrors >= 5;
  }
}
