// The hook through which model tools (activation-based pruning) watch a forward pass.

/// Called by an architecture with layer l's feed-forward activations: `rows` rows of `width`
/// values, the input of ffn_down (act(gate)·up), valid only during the call.
public typealias FeedForwardObserver = (_ layer: Int, _ activations: UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void

/// Architectures that can report their feed-forward activations.
public protocol FeedForwardObservable: AnyObject {
    var feedForwardObserver: FeedForwardObserver? { get set }
    var attentionObserver: FeedForwardObserver? { get set }
}

extension DecoderModel: FeedForwardObservable {}
extension Gemma3Model: FeedForwardObservable {}
extension Gemma2Model: FeedForwardObservable {}
