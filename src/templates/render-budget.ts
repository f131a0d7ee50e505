import type { HelperDelegate, HelperOptions } from 'handlebars';
import { AppError } from '../errors.js';

/**
 * How much one render may do. A template of a few hundred characters can nest `{{#each}}` blocks
 * over the prefills (or over the characters of one) deep enough to run for years; these bounds stop
 * it after a moment, with a message, whatever the data.
 */
export const RENDER_LIMITS = {
  /** `{{#each}}` blocks inside one another, checked when a template is saved or previewed. */
  eachDepth: 3,
  /** Blocks of any kind inside one another, checked likewise. */
  blockDepth: 12,
  /** Iterations of every `{{#each}}` of one part, counted while it renders. */
  iterations: 10_000,
  /** Characters one part renders to (iterations' output counted as it is made). */
  outputChars: 1_000_000,
} as const;

class Budget {
  iterations = 0;
  chars = 0;

  spendIteration(): void {
    if (++this.iterations > RENDER_LIMITS.iterations)
      throw new AppError(
        'VALIDATION_FAILED',
        `The template repeats {{#each}} more than ${RENDER_LIMITS.iterations} times: loop over fewer values.`,
      );
  }

  spendOutput(chars: number): void {
    this.chars += chars;
    if (this.chars > RENDER_LIMITS.outputChars) throw outputTooLarge();
  }
}

const outputTooLarge = () =>
  new AppError(
    'VALIDATION_FAILED',
    `The template renders more than ${RENDER_LIMITS.outputChars} characters: make it, or what it repeats, shorter.`,
  );

// Rendering is synchronous: the budget of the render in progress is the one the helpers charge.
let current: Budget | undefined;

/** Runs one render under a fresh budget; its result longer than the limit is refused too. */
export function withinBudget(render: () => string): string {
  const outer = current;
  current = new Budget();
  try {
    const output = render();
    if (output.length > RENDER_LIMITS.outputChars) throw outputTooLarge();
    return output;
  } finally {
    current = outer;
  }
}

/** Wraps Handlebars' `each` so every iteration, and what it renders, is charged to the render's budget. */
export function budgetedEach(each: HelperDelegate): HelperDelegate {
  return function (this: unknown, context: unknown, options: HelperOptions) {
    const budget = current;
    if (!budget) return each.call(this, context, options) as unknown;
    const fn = options.fn;
    const charged: HelperOptions = {
      ...options,
      fn: (value: unknown, frame?: Parameters<typeof fn>[1]) => {
        budget.spendIteration();
        const output = fn(value, frame);
        budget.spendOutput(output.length);
        return output;
      },
    };
    return each.call(this, context, charged) as unknown;
  };
}
