import JSON
import Jinja
import ModelFormats
import Tokenizers
/// Turns a conversation into the model's prompt with the chat template stored in its GGUF
/// file (`tokenizer.chat_template`), or ChatML when the file has none (llama.cpp's fallback).
public struct ChatPrompt: Sendable {
    public let template: ChatTemplate
    public let isFallback: Bool
    let bosToken: String
    let eosToken: String
    let addBOS: Bool
    /// The template's reasoning tags; nil: the output is all content.
    public let reasoning: ReasoningMarkers?

    static let chatML = """
    {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
    """

    /// `override`: a template used in place of the file's (llama-server's --chat-template-file).
    public init(file: any ModelFile, tokenizer: any Tokenizer, override: String? = nil) throws {
        let source = try override ?? file.optionalString("tokenizer.chat_template")
        isFallback = source == nil
        do {
            template = try ChatTemplate(source: source ?? Self.chatML)
        } catch {
            throw ChatPromptError("the chat template in \(file.path) does not parse: \(error)")
        }
        let vocabulary = tokenizer.vocabulary
        func text(_ id: Int32?) -> String {
            guard let id else { return "" }
            return String(decoding: tokenizer.piece(id, special: true), as: UTF8.self)
        }
        bosToken = text(vocabulary.bosID)
        eosToken = text(vocabulary.eosID)
        addBOS = vocabulary.addBOS
        reasoning = ReasoningMarkers.detect(template, bosToken: bosToken, eosToken: eosToken)
    }

    /// `arguments`: further template variables (llama-server's chat_template_kwargs, such as
    /// `enable_thinking`).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, tools: [JSONValue]? = nil,
                       arguments: [String: JSONValue] = [:]) throws -> String {
        do {
            return try template.render(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt,
                                       bosToken: bosToken, eosToken: eosToken, extra: arguments)
        } catch {
            throw ChatPromptError("the chat template failed: \(error)")
        }
    }

    /// Tokens of a rendered conversation: special tokens parsed, and BOS added only when the
    /// model wants one and the template did not write it already.
    public func tokenize(_ rendered: String, with tokenizer: any Tokenizer) -> [Int32] {
        let startsWithBOS = !bosToken.isEmpty && rendered.hasPrefix(bosToken)
        return tokenizer.encode(rendered, addSpecial: addBOS && !startsWithBOS, parseSpecial: true)
    }
}

public struct ChatPromptError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
