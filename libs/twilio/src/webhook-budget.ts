/**
 * Twilio waits 15 s for the answer to a webhook, then plays "an application error has occurred"
 * and hangs up (a status callback's late answer is only an error in Twilio's debugger). Hotline
 * answers every /twilio/* request within {@link WEBHOOK_ANSWER_MS}, whatever Twilio's REST API or the
 * databases do: a handler spends at most {@link WEBHOOK_BUDGET_MS} on its work (the rest is the
 * margin for reading the request, its signature and sending the answer), and a REST request made
 * inside it takes at most TWILIO_REST_TIMEOUT_MS and is never retried there.
 */
export const WEBHOOK_ANSWER_MS = 5000;
export const WEBHOOK_BUDGET_MS = 4000;

/**
 * `work`'s result when it settles within `budgetMs` (its error is thrown as usual); otherwise `late()`'s,
 * at once, while `work` goes on after the answer: its eventual failure goes to `onLateError` (it is
 * never left unhandled). Use it for what does not shape the answer, or with a `late()` that says
 * something true whatever the work turns out to do.
 */
export async function answerWithin<T>(
  work: Promise<T>,
  budgetMs: number,
  late: () => T,
  onLateError: (e: unknown) => void = () => undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const LATE = Symbol('late');
  const deadline = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), budgetMs);
  });
  try {
    const first = await Promise.race([work, deadline]);
    if (first !== LATE) return first;
  } finally {
    clearTimeout(timer);
  }
  work.catch(onLateError);
  return late();
}
