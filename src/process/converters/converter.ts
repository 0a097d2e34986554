/**
 * One entry of a flow's dataProcessingOptions, applied to one record's text (decoded as UTF-8,
 * as the Java agent decodes it). It returns the new text, or null to drop the record (only
 * LOGTOJSON does, for a line its pattern does not match), and throws if it cannot convert the
 * record: the whole chain then gives way to the raw record.
 */
export interface Converter {
  convert(text: string): string | null;
  /**
   * Set while the converter cannot do its part (ADDEC2METADATA without metadata): records then
   * pass it unchanged, on to the next converter, and the reason is reported.
   */
  readonly unavailable?: string | undefined;
  /**
   * Resolves once the converter can do its part (a module loaded, the first metadata read); the
   * flow reads no record before. Rejects when it never will, which stops the flow from starting.
   */
  ready?(): Promise<void>;
}
