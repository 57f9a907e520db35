/// A safetensors file that cannot be read; `message` names the file and the tensor or field
/// at fault, and what was expected.
public typealias SafetensorsError = FormatError<SafetensorsErrorKind>

public enum SafetensorsErrorKind: String, Sendable, CaseIterable {
    case io                 // open, stat or map failed
    case tooSmall           // shorter than the 8-byte header length
    case badHeaderLength    // the header length runs past the end of the file
    case badHeader          // the header is not UTF-8 JSON of the expected structure
    case unknownDType       // a dtype the format does not define
    case invalidShape       // a negative dim, or too many elements
    case badOffsets         // data_offsets not [begin, end] with begin <= end
    case sizeMismatch       // end - begin differs from the shape's byte size
    case outOfBounds        // data past the end of the file
    case overlapping        // two tensors share bytes
}
