import JSON
import Tokenizers
import Transformer

/// A request's `logit_bias` as sent, resolved to token ids once the model is known (text keys
/// need its tokenizer). Accepted forms: OpenAI's object of token id → bias
/// (`{"15043": -100}`), and llama.cpp's: object keys that are text (each of its tokens gets
/// the bias), and `[[token or text, bias], …]`; a bias of `false` bans the token.
struct LogitBias {
    enum Target { case token(Int), text(String) }
    var entries: [(target: Target, bias: Float, path: String)] = []

    init() {}

    init(_ value: JSONValue?, field: String = "logit_bias") throws {
        guard let value, value != .null else { return }
        switch value {
        case .object(let members):
            for (key, bias) in members {
                let path = "\(field).\(key)"
                entries.append((Int(key).map(Target.token) ?? .text(key), try Self.bias(bias, path: path), path))
            }
        case .array(let pairs):
            for (i, pair) in pairs.enumerated() {
                let path = "\(field)[\(i)]"
                guard case .array(let items) = pair, items.count == 2 else {
                    throw APIError.invalid("'\(path)' must be a [token, bias] pair", parameter: field)
                }
                let target: Target
                switch items[0] {
                case .int(let id): target = .token(id)
                case .string(let text): target = .text(text)
                default: throw APIError.invalid("'\(path)[0]' must be a token id or a text, got \(items[0].kindName)", parameter: field)
                }
                entries.append((target, try Self.bias(items[1], path: "\(path)[1]"), path))
            }
        default:
            throw APIError.invalid("'\(field)' must be an object of token id → bias or an array of [token, bias] pairs, got \(value.kindName)",
                                   parameter: field)
        }
    }

    private static func bias(_ value: JSONValue, path: String) throws -> Float {
        switch value {
        case .int(let i): return Float(i)
        case .number(let x) where x.isFinite: return Float(x)
        case .bool(false): return -.infinity
        default: throw APIError.invalid("'\(path)' must be a number (or false to ban the token), got \(value.jsonText)", parameter: path)
        }
    }

    /// Token id → bias for the sampler; biases for the same token add up, as in llama.cpp.
    func resolved(_ tokenizer: any Tokenizer, vocabularySize: Int) throws -> [Int32: Float] {
        var out: [Int32: Float] = [:]
        for (target, bias, path) in entries {
            switch target {
            case .token(let id):
                guard id >= 0 && id < vocabularySize else {
                    throw APIError.invalid("'\(path)': token id \(id) is outside the vocabulary (0..<\(vocabularySize))", parameter: path)
                }
                out[Int32(id), default: 0] += bias
            case .text(let text):
                let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
                guard !ids.isEmpty else { throw APIError.invalid("'\(path)': the text has no tokens", parameter: path) }
                for id in ids { out[id, default: 0] += bias }
            }
        }
        return out
    }
}
