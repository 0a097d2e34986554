/**
 * The records the Firehose console's "Start sending demo data" sends: one compact stock-ticker JSON
 * object each, without a newline (`{"ticker_symbol":"QXZ","sector":"HEALTHCARE","change":-0.05,
 * "price":84.51}`), prices walking a little from record to record.
 */

const TICKERS: ReadonlyArray<readonly [symbol: string, sector: string, price: number]> = [
  ['QXZ', 'HEALTHCARE', 84.51],
  ['CRM', 'HEALTHCARE', 38.38],
  ['VVY', 'HEALTHCARE', 27.06],
  ['NGC', 'HEALTHCARE', 6.89],
  ['TGH', 'FINANCIAL', 67.21],
  ['WFC', 'FINANCIAL', 52.39],
  ['ASD', 'FINANCIAL', 84.48],
  ['QWE', 'TECHNOLOGY', 200.9],
  ['DFG', 'TECHNOLOGY', 175.16],
  ['HJV', 'ENERGY', 335.83],
  ['SAC', 'ENERGY', 30.05],
  ['MMB', 'ENERGY', 18.57],
  ['DFT', 'RETAIL', 86.71],
  ['WMT', 'RETAIL', 85.22],
];

const cents = (value: number) => Math.round(value * 100) / 100;

export class DemoTickerData {
  private readonly prices = TICKERS.map(([, , price]) => price);

  constructor(private readonly random: () => number = Math.random) {}

  /** The next record's text. */
  next(): string {
    const index = Math.floor(this.random() * TICKERS.length);
    const [symbol, sector] = TICKERS[index];
    const previous = this.prices[index];
    // Moves of up to ±5 %, never to a price under a cent.
    const change = cents(Math.max(0.01 - previous, previous * (this.random() - 0.5) * 0.1));
    this.prices[index] = cents(previous + change);
    return JSON.stringify({ ticker_symbol: symbol, sector, change, price: this.prices[index] });
  }
}
