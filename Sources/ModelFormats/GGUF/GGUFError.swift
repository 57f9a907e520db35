/// A GGUF file that cannot be read or written. `kind` lets callers and tests branch on the
/// problem; `message` names the file and the key, tensor or offset at fault, and what was
/// expected.
public typealias GGUFError = FormatError<GGUFErrorKind>

public enum GGUFErrorKind: String, Sendable, CaseIterable {
    case io                  // open, stat, map, write or rename failed
    case tooSmall            // shorter than the fixed header
    case badMagic            // does not start with "GGUF"
    case unsupportedVersion  // not version 2 or 3
    case truncated           // a field runs past the end of the file
    case countTooLarge       // a count cannot fit in the bytes that remain
    case unknownValueType    // metadata value type number not in the format
    case invalidValue        // a value outside its domain (a bool that is not 0 or 1)
    case invalidUTF8         // a key or tensor name that is not UTF-8
    case duplicateKey
    case nestingTooDeep      // arrays nested deeper than the reader allows
    case badAlignment        // general.alignment of the wrong type, zero or not a power of two
    case invalidDimensions   // n_dims outside 1...4, a zero or negative dim, element count overflow
    case unknownTensorType   // ggml type number not in GGMLType
    case blockMismatch       // row length not a whole number of quantization blocks
    case misalignedOffset    // tensor offset not a multiple of the alignment
    case tensorOutOfBounds   // tensor data past the end of the file
    case overlappingTensors
    case duplicateTensor
    case missingKey          // a required metadata key is absent
    case typeMismatch        // a metadata value of another type than asked for
    case invalidArgument     // GGUFWriter misuse
}

