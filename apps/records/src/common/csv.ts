import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { Response } from 'express';

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a cell that a
 * spreadsheet would take for a formula (= + - @, tab, carriage return) is prefixed with `'`.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Sends `csv` as a download named `filename`. */
export function sendCsv(res: Response, filename: string, csv: string): void {
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.send(csv);
}

/** Documents a 200 that is a CSV download (text/csv). */
export const ApiCsv = (description: string) =>
  applyDecorators(ApiOkResponse({ description, content: { 'text/csv': { schema: { type: 'string', description } } } }));
