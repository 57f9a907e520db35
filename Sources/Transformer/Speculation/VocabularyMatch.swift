import Tokenizers

/// Why a draft model cannot draft for a target, or nil when it can: the two must tokenize
/// alike, so that a draft token id means the same text to both. As llama.cpp, vocabularies
/// may differ in size by a few added tokens (at most `maxSizeDifference`); every id both have
/// must be the same token text and type, and the special tokens must agree.
public func draftVocabularyMismatch(target: Vocabulary, draft: Vocabulary, maxSizeDifference: Int = 128) -> String? {
    if target.model != draft.model {
        return "the draft's tokenizer model is '\(draft.model)', the target's '\(target.model)'"
    }
    if target.pre != draft.pre {
        return "the draft's pre-tokenizer is '\(draft.pre)', the target's '\(target.pre)'"
    }
    let difference = abs(target.tokens.count - draft.tokens.count)
    if difference > maxSizeDifference {
        return "the draft has \(draft.tokens.count) tokens, the target \(target.tokens.count) (at most \(maxSizeDifference) apart)"
    }
    for (name, t, d) in [("bos", target.bosID, draft.bosID), ("eos", target.eosID, draft.eosID),
                         ("eot", target.eotID, draft.eotID)] where t != d {
        return "the draft's \(name) token is \(d.map(String.init) ?? "none"), the target's \(t.map(String.init) ?? "none")"
    }
    if target.addBOS != draft.addBOS {
        return "the draft \(draft.addBOS ? "adds" : "does not add") a bos token, the target \(target.addBOS ? "does" : "does not")"
    }
    for id in 0..<min(target.tokens.count, draft.tokens.count) {
        if target.tokens[id] != draft.tokens[id] || target.types[id] != draft.types[id] {
            return "token \(id) differs: the draft's is \(describe(draft, id)), the target's \(describe(target, id))"
        }
    }
    return nil
}

private func describe(_ v: Vocabulary, _ id: Int) -> String { "'\(v.tokens[id])' (\(v.types[id]))" }
