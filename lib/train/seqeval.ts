// Entity scores for token classification, as HF's run_ner reports them (evaluate's "seqeval"
// metric, seqeval's default conlleval mode): the tags of a sentence are read as chunks
// (B-PER I-PER is one PER entity), and an entity counts as found only where type, start and
// end all match. Precision, recall and F1 are micro-averaged over the entities.

/** An entity: its type and its first and last word. */
export interface Entity {
  type: string;
  start: number;
  end: number;
}

/** A tag's prefix (B, I, E, S, O) and entity type, as seqeval splits it: 'B-PER' is B and PER; a bare 'B' is of type '_'. */
function splitTag(tag: string): [string, string] {
  const rest = tag.slice(1), dash = rest.indexOf('-');
  return [tag.slice(0, 1), (dash < 0 ? rest : rest.slice(dash + 1)) || '_'];
}

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  // an I or E that does not continue a chunk starts one (conlleval is lenient with IOB1)
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/** The entities in a sentence's tags (seqeval's get_entities). */
export function getEntities(tags: string[]): Entity[] {
  const entities: Entity[] = [];
  let prevTag = 'O', prevType = '', begin = 0;
  [...tags, 'O'].forEach((t, i) => {
    const [tag, type] = splitTag(t);
    if (endOfChunk(prevTag, tag, prevType, type)) entities.push({ type: prevType, start: begin, end: i - 1 });
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  });
  return entities;
}

/**
 * Whether tags name entities (IOB, IOB2 or IOBES: each is O, or B-/I-/E-/S- and a type, or a
 * bare B, I, E or S), so that entity scores mean something; part-of-speech tags do not (seqeval
 * warns "seems not to be NE tag" and scores them as garbled chunks).
 */
export function isEntityTagSet(tags: string[]): boolean {
  return tags.some((t) => t !== 'O') && tags.every((t) => ['O', 'B', 'I', 'E', 'S'].includes(t) || /^[BIES]-./.test(t));
}

/** The entity types an entity tag set can produce, sorted (the order of the per-type counts). */
export function entityTypes(tags: string[]): string[] {
  return [...new Set(tags.filter((t) => t !== 'O').map((t) => splitTag(t)[1]))].sort();
}

/**
 * Entity counts of a sentence's predicted tags against its gold ones, per type (in `types`'
 * order): [correct, predicted, gold] for each, flat. Counts add over sentences, so they shard.
 */
export function entityCounts(gold: string[], predicted: string[], types: string[]): number[] {
  const counts = new Array<number>(3 * types.length).fill(0);
  const key = (e: Entity) => `${e.type}\u0000${e.start}\u0000${e.end}`;
  const goldEntities = getEntities(gold), goldSet = new Set(goldEntities.map(key));
  for (const e of getEntities(predicted)) {
    const k = types.indexOf(e.type);
    counts[3 * k] += goldSet.has(key(e)) ? 1 : 0;
    counts[3 * k + 1] += 1;
  }
  for (const e of goldEntities) counts[3 * types.indexOf(e.type) + 2] += 1;
  return counts;
}

export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  /** the gold entities (seqeval's "number") */
  number: number;
}

export interface EntityReport {
  overall: EntityScores;
  types: Record<string, EntityScores>;
}

/** Precision, recall and F1 from counts (0 where there is nothing to divide by, as seqeval). */
export function entityScores(correct: number, predicted: number, gold: number): EntityScores {
  const precision = predicted ? correct / predicted : 0, recall = gold ? correct / gold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, number: gold };
}

/** Overall (micro-averaged) and per-type scores from the flat per-type counts of entityCounts (the types seen, gold or predicted, as seqeval lists them). */
export function entityReport(counts: number[], types: string[]): EntityReport {
  const sum = (j: number) => types.reduce((s, _, k) => s + counts[3 * k + j], 0);
  return {
    overall: entityScores(sum(0), sum(1), sum(2)),
    types: Object.fromEntries(types.flatMap((t, k) => (counts[3 * k + 1] + counts[3 * k + 2] ? [[t, entityScores(counts[3 * k], counts[3 * k + 1], counts[3 * k + 2])]] : []))),
  };
}
