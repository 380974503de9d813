// Models: GPT-2 and its tokenizer.
export { GPT2LMHeadModel, GPT2PreTrainedModel, GPT2Model, GPT2Block, GPT2Attention, GPT2MLP, causalLmLoss, finfoMin, readConfig, resolveConfig } from './gpt2';
export { GPT2ForSequenceClassification, GPT2Classifier, isSequenceClassifierFolder, PROBLEM_TYPES } from './sequence_classification';
export { GPT2ForTokenClassification, isTokenClassifierFolder } from './token_classification';
export type { TokenClassifierConfig } from './token_classification';
export type { ProblemType, ClassificationOptions, ClassifierConfig, SequenceClassifierOutput } from './sequence_classification';
export { repetitionPenalty, noRepeatNgramBans, warpScores, completesStopString, readGenerationConfig, computeTransitionScores, addSequenceBias, promptLookupCandidates } from './generation';
export type { GenerateOptions, BeamSearchOutput, GenerateOutput, EosTokenIds } from './generation';
export { GenerationBatcher } from './batching';
export type { BatcherOptions, BatcherStats, GenerationHooks } from './batching';
export { PrefixCache } from './prefix_cache';
export { JsonGrammar, jsonConstraint, readJsonPrefix } from './json_constraint';
export type { GPT2Config, GPT2Output, ForwardOptions, LayerPast, GPT2ModelOptions, AttnImplementation, LmLossType } from './gpt2';
export { GPT2Tokenizer, tokenizer, tokenizerFor, hasTokenizerFiles, EOS_TOKEN_ID, CHATML_TEMPLATE, CHATML_TRAINING_TEMPLATE, assistantTokensMask } from './tokenizer';
export type { ChatEncoding } from './tokenizer';
export type { ChatTemplates } from './tokenizer';
export { renderChatTemplate, renderChatTemplateSpans, hasGenerationMarkers } from './chat_template';
export type { ChatMessage, ChatTemplateOptions, RenderedChat } from './chat_template';
