// The analyze route's 200 body as JSON text, written field by field: the
// hottest response of the API, whose shape is fixed (analysisView). It gives
// exactly JSON.stringify's text (test/unit/analysis-json.test.ts) in about a
// third of its time, which was about 4 % of a request (bench/README.md).
import type { z } from 'zod';
import type { analysisView } from './schemas.js';

export type AnalysisView = z.infer<typeof analysisView>;

const str = JSON.stringify as (value: string) => string;

export function analysisJson(a: AnalysisView): string {
  const p = a.pattern;
  const pattern = p === null ? 'null' : `{"id":${str(p.id)},"name":${str(p.name)},"priority":${p.priority}}`;
  return (
    `{"errorType":"${a.errorType}","severity":"${a.severity}","retryable":${a.retryable},"recommendedStrategy":"${a.recommendedStrategy}",` +
    `"pattern":${pattern},"occurrences":{"pattern":${a.occurrences.pattern},"component":${a.occurrences.component}},` +
    `"escalate":${a.escalate},"reasons":${JSON.stringify(a.reasons)}}`
  );
}
