namespace Mammoth.Log.Index;

/// <summary>
/// The settings that fix the layout of the FASTER files: a checkpoint can only be recovered by a
/// store built with the same page size, segment size and bucket count, so manifests record them.
/// </summary>
internal readonly record struct StoreGeometry(int PageSizeBits, int SegmentSizeBits, int IndexBucketBits)
{
    public const int MinPageSizeBits = 16;  // a page must hold the largest record (MaxKeyLength + headers)
    public const int MaxPageSizeBits = 30;
    public const int MaxSegmentSizeBits = 36;
    public const int MinIndexBucketBits = 6;
    public const int MaxIndexBucketBits = 30; // FASTER wants a 32-bit bucket count

    public long IndexBuckets => 1L << IndexBucketBits;

    public bool IsValid(out string? problem)
    {
        problem = null;
        if (PageSizeBits is < MinPageSizeBits or > MaxPageSizeBits)
            problem = $"its page size of 2^{PageSizeBits} bytes is outside 2^{MinPageSizeBits}..2^{MaxPageSizeBits}";
        else if (SegmentSizeBits < PageSizeBits || SegmentSizeBits > MaxSegmentSizeBits)
            problem = $"its segment size of 2^{SegmentSizeBits} bytes is smaller than a page or above 2^{MaxSegmentSizeBits}";
        else if (IndexBucketBits is < MinIndexBucketBits or > MaxIndexBucketBits)
            problem = $"its bucket count of 2^{IndexBucketBits} is outside 2^{MinIndexBucketBits}..2^{MaxIndexBucketBits}";
        return problem is null;
    }
}
