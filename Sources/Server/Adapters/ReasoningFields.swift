import JSON

/// The request fields that switch a model's thinking and choose how its reasoning comes back,
/// in each protocol's words; all end as the template's `enable_thinking` and a reasoning format.
extension JSONReader {
    /// llama-server's `chat_template_kwargs` (variables handed to the template; its
    /// `enable_thinking` must be a boolean, as llama-server insists) and `reasoning_format`.
    func readLlamaCppReasoning(into request: inout InferenceRequest) throws {
        if let kwargs = try object("chat_template_kwargs") {
            for (key, value) in kwargs.members { request.templateArguments[key] = value }
            if let thinking = kwargs.value("enable_thinking"), !thinking.isBool {
                throw kwargs.wrongType("enable_thinking", "a boolean", thinking)
            }
        }
        if let name = try string("reasoning_format") {
            guard let format = ReasoningFormat(rawValue: name) else {
                throw APIError.invalid("'\(self.name("reasoning_format"))' must be one of "
                                       + ReasoningFormat.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(name)'",
                                       parameter: self.name("reasoning_format"))
            }
            request.reasoningFormat = format
        }
        // reasoning_control lets llama-server's /v1/chat/completions/control end reasoning
        // mid-answer (LlamaCppControlRoutes.swift); llama.cpp's web page sends it on every chat.
        request.reasoningControl = try bool("reasoning_control") ?? false
        // The reasoning budget, as llama-server reads it: reasoning_budget_tokens, else
        // thinking_budget_tokens; -1 (or neither) leaves the server's --reasoning-budget.
        let budgetRange = -1...Int(Int32.max)
        let budget = try int("reasoning_budget_tokens", in: budgetRange) ?? int("thinking_budget_tokens", in: budgetRange)
        if let budget, budget >= 0 { request.reasoningBudgetTokens = budget }
        if let message = try string("reasoning_budget_message") { request.reasoningBudgetMessage = message }
    }

    /// Ollama's `think`: true or false switches thinking on or off (off also leaves any
    /// reasoning in the content, as Ollama does); "high", "medium", "low" (gpt-oss levels)
    /// are refused, these models have no levels.
    func readOllamaThink(into request: inout InferenceRequest) throws {
        guard let think = value("think"), think != .null else { return }
        guard case .bool(let on) = think else {
            throw wrongType("think", "true or false (thinking levels are not supported)", think)
        }
        request.templateArguments["enable_thinking"] = .bool(on)
        if on { request.thinkingAskedBy = name("think") } else { request.reasoningFormat = ReasoningFormat.none }
    }

    /// Anthropic's `thinking`: {"type": "enabled", "budget_tokens": n} or {"type": "disabled"}
    /// (or "adaptive", as enabled, with no budget). As llama-server does, an enabled block is
    /// held to its budget_tokens, 10,000 when the field is absent.
    func readAnthropicThinking(into request: inout InferenceRequest) throws {
        guard let thinking = try object("thinking") else { return }
        switch try thinking.requiredString("type") {
        case let type where type == "enabled" || type == "adaptive":
            let budget = try thinking.int("budget_tokens", in: 0...Int(Int32.max))
            if type == "enabled" { request.reasoningBudgetTokens = budget ?? 10_000 }
            request.templateArguments["enable_thinking"] = true
            request.thinkingAskedBy = name("thinking")
        case "disabled":
            request.templateArguments["enable_thinking"] = false
            request.reasoningFormat = ReasoningFormat.none
        case let type:
            throw APIError.invalid("'thinking.type' must be \"enabled\" or \"disabled\", got '\(type)'", parameter: "thinking.type")
        }
    }
}

private extension JSONValue {
    var isBool: Bool { if case .bool = self { return true } else { return false } }
}
