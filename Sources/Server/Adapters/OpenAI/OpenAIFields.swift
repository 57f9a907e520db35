import JSON

/// The top-level fields a request may carry on OpenAI's chat and completion routes: every
/// field OpenAI documents for the endpoint, and llama-server's own fields, which llama-server
/// reads on these routes too (clients written for it send them). The decoder honours each or
/// refuses it with a 400 naming it; any other field is refused as OpenAI's API refuses it.
enum OpenAIFields {
    /// OpenAI's chat completion fields (openai-python's CompletionCreateParams).
    static let chat: Set<String> = [
        "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "metadata", "modalities", "moderation", "n", "parallel_tool_calls", "prediction",
        "presence_penalty", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream", "stream_options",
        "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    ]

    /// OpenAI's legacy completion fields, and chat's `response_format`, which the structured
    /// outputs honour on completions too.
    static let completion: Set<String> = [
        "model", "prompt", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
        "presence_penalty", "seed", "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user",
        "response_format",
    ]

    /// OpenAI chat fields for features this server does not have: refused unless off.
    static let unsupportedChat: [NeutralField] = [
        .empty("audio"), .empty("prediction"), .empty("functions"), .empty("function_call"), .empty("web_search_options"),
        .empty("moderation"), .flag("store"), .empty("metadata"),
        NeutralField(name: "modalities", expected: "[\"text\"]") { $0 == ["text"] },
        NeutralField(name: "reasoning_effort", expected: "absent (the model does not reason)") { _ in false },
        NeutralField(name: "service_tier", expected: "\"auto\" or \"default\"") { $0 == "auto" || $0 == "default" },
        .text("verbosity", "medium"),
        // The prefix cache is automatic and least-recently-used: no breakpoints or lifetimes.
        .empty("prompt_cache_options"), .text("prompt_cache_retention", "in_memory"),
    ]

    /// llama-server's chat-only fields honoured here: template variables, how reasoning is
    /// returned, its budget, and whether the control route may end it (see
    /// `readLlamaCppReasoning`).
    static let llamaCppChatHonoured: Set<String> = [
        "chat_template_kwargs", "reasoning_format", "reasoning_control", "reasoning_budget_tokens",
        "thinking_budget_tokens", "reasoning_budget_message",
    ]

    /// llama-server's chat-only fields for what this server does not do (continuing a
    /// message): refused unless off.
    static let unsupportedLlamaCppChat: [NeutralField] = [
        NeutralField(name: "add_generation_prompt", expected: "true") { $0 == .bool(true) },
        .flag("continue_final_message"),
    ]

    /// llama-server's generation fields it reads on the OpenAI routes, beside those in the
    /// neutral lists: the samplers this server runs, structured output, limits and caching.
    static let llamaCppHonoured: Set<String> = [
        "top_k", "min_p", "repeat_penalty", "repeat_last_n", "ignore_eos", "samplers", "grammar", "json_schema",
        "n_predict", "cache_prompt", "n_keep", "n_discard", "timings_per_token", "dry_sequence_breakers",
        "n_probs", "return_tokens", "return_progress", "sse_ping_interval",
    ]

    /// Every field llama-server reads on both OpenAI routes.
    static let llamaCpp: Set<String> = llamaCppHonoured
        .union(NeutralField.llamaCppUnsupported.map(\.name))
        .union(NeutralField.llamaCppOffSamplerSettings)

    /// Members of nested objects, refused by name (as `messages[0].foo`) beyond these. A
    /// message: OpenAI's message fields, those a response's message carries (clients send
    /// replies back as they got them; openai-python's `parse` adds `parsed`) and
    /// llama-server's reasoning_content.
    static let message: Set<String> = ["role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio", "function_call",
                                       "annotations", "reasoning_content", "parsed"]
    /// A tool call in the history; a reply the client assembled from a stream keeps each
    /// call's `index`, and `parse` adds `parsed_arguments`.
    static let toolCall: Set<String> = ["id", "type", "function", "index"]
    static let toolCallFunction: Set<String> = ["name", "arguments", "parsed_arguments"]
    /// A content part's members by its type (openai-python's ChatCompletionContentPartParam;
    /// input_text is the Responses API's name for a text part), and of the object a media
    /// part carries under its type's name.
    static let contentPart: [String: Set<String>] = [
        "text": ["type", "text", "prompt_cache_breakpoint"], "input_text": ["type", "text"],
        "image_url": ["type", "image_url", "prompt_cache_breakpoint"], "input_audio": ["type", "input_audio", "prompt_cache_breakpoint"],
        "file": ["type", "file", "prompt_cache_breakpoint"], "refusal": ["type", "refusal"],
    ]
    static let contentPartPayload: [String: Set<String>] = [
        "image_url": ["url", "detail"], "input_audio": ["data", "format"], "file": ["file_data", "file_id", "filename"],
    ]
    static let tool: Set<String> = ["type", "function"]
    static let toolFunction: Set<String> = ["name", "description", "parameters", "strict"]
    /// `schema` directly in response_format is llama-server's form.
    static let responseFormat: Set<String> = ["type", "json_schema", "schema"]
    static let jsonSchemaFormat: Set<String> = ["name", "description", "schema", "strict"]
    static let streamOptions: Set<String> = ["include_usage", "include_obfuscation"]

    static let knownChat = chat.union(llamaCpp).union(unsupportedLlamaCppChat.map(\.name)).union(llamaCppChatHonoured)
    static let knownCompletion = completion.union(llamaCpp)
}

extension JSONReader {
    /// Refuses a content part's members beyond those of its type, and inside the object a
    /// media part carries; a part of a type not listed is left to the caller.
    func refuseUnrecognizedPart(type: String) throws {
        guard let known = OpenAIFields.contentPart[type] else { return }
        try refuseUnrecognized(known)
        if let payload = OpenAIFields.contentPartPayload[type], let object = try object(type) {
            try object.refuseUnrecognized(payload)
        }
        // The prefix cache is automatic: no breakpoints (as 'prompt_cache_options').
        try refuseUnlessNeutral([.empty("prompt_cache_breakpoint")])
    }

    /// Refuses the first member not in `known`, in the words of OpenAI's API; a nested one is
    /// named by its path (`messages[0].foo`).
    func refuseUnrecognized(_ known: Set<String>) throws {
        guard let key = members.first(where: { !known.contains($0.key) })?.key else { return }
        throw APIError.invalid("Unrecognized request argument supplied: \(name(key))", parameter: name(key))
    }

    /// OpenAI's fields that identify the caller or key its prompt cache. They do not change
    /// what is generated (nor do they at OpenAI), so they are accepted when they are strings.
    func readCallerIdentifiers() throws {
        for name in ["user", "safety_identifier", "prompt_cache_key"] { _ = try string(name) }
    }

    /// A token limit from the first of `names` given, after llama-server's `n_predict`, which
    /// takes their place on its OpenAI routes; -1 (llama-server's clients send it) is no limit
    /// but the end of generation or of the context.
    func tokenLimit(_ names: [String], minimum: Int, default limit: Int?) throws -> Int? {
        let given = try (["n_predict"] + names).compactMap { name in try int(name, in: -1...10_000_000).map { (name, $0) } }
        guard let first = given.first else { return limit }
        let (name, n) = first
        if n == -1 { return nil }
        guard n >= minimum else {
            throw APIError.invalid("'\(self.name(name))' must be at least \(minimum), or -1 for no limit, got \(n)", parameter: self.name(name))
        }
        return n
    }
}
