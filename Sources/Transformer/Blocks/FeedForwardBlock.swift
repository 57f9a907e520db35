import Quant
import Tensor

/// A gated feed-forward layer: down · (act(gate · x) ⊙ up · x).
struct GatedFeedForward {
    enum Activation { case silu, geluTanh }
    let gate, up, down: WeightMatrix          // (ffn, width), (ffn, width), (width, ffn)
    let activation: Activation

    /// The tensors `prefix` + ffn_gate/ffn_up/ffn_down.weight, `length` wide; with `fusedGateUp`,
    /// gate and up are one ffn_up.weight of 2 × length rows, gate rows first (phi3, as
    /// llama.cpp's LLM_FFN_SWIGLU splits it).
    init(_ weights: WeightStore, prefix p: String, width: Int, length: Int, activation: Activation,
         fusedGateUp: Bool = false) throws {
        if fusedGateUp {
            let gateUp = try weights.fusedMatrices(p + "ffn_up.weight", rows: [length, length], columns: width)
            (gate, up) = (gateUp[0], gateUp[1])
        } else {
            gate = try weights.matrix(p + "ffn_gate.weight", rows: length, columns: width)
            up = try weights.matrix(p + "ffn_up.weight", rows: length, columns: width)
        }
        down = try weights.matrix(p + "ffn_down.weight", rows: width, columns: length)
        self.activation = activation
    }

    /// out[i] (+)= FFN(x[i]) for n rows of state.normed, in chunks of state.feedForwardRows
    /// (its gate/up scratch is the widest of a pass). `out` may be state.normed itself: each
    /// chunk's input is used up before its output is written.
    func run(layer l: Int, rows n: Int, decodeRows d: Int, state: ForwardState, into out: UnsafeMutablePointer<Float>,
             accumulate: Bool, observer: FeedForwardObserver?) {
        let ffn = gate.rows, width = gate.columns
        for start in stride(from: 0, to: n, by: state.feedForwardRows) {
            let rows = min(state.feedForwardRows, n - start), decode = max(0, min(d - start, rows))
            projectTogether(Projection(gate, state.gate), Projection(up, state.up),
                            input: state.normed + start * width, rows: rows, decodeRows: decode, state: state)
            switch activation {
            case .silu: swiglu(gate: state.gate, up: state.up, count: rows * ffn)
            case .geluTanh: geglu(gate: state.gate, up: state.up, count: rows * ffn)
            }
            observer?(l, state.gate, rows, ffn)
            project(down, state.gate, rows: rows, decodeRows: decode, into: out + start * width, accumulate: accumulate,
                    state: state)
        }
    }
}
