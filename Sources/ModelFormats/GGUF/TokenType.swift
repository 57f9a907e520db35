/// tokenizer.ggml.token_type values (llama_token_type).
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
