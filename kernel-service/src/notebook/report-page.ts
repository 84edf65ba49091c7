/**
 * `saveHtml`: a stored validation report as a standalone HTML page in a file. The service
 * builds the page (kernel-service/src/validation/report-page.ts) from the report it stored,
 * as it does for Python's `report.save_html`, so both write the same page.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { NotebookClient } from './client.js';
import { InputError, NbdeployError } from './errors.js';
import { ValidationPageReply } from './replies.js';
import type { ValidationReport } from './types.js';

export async function saveReportPage(client: NotebookClient, report: ValidationReport, path: string): Promise<string> {
  if (!report || typeof report !== 'object' || typeof report.model !== 'string' || !Number.isInteger(report.version)) {
    throw new InputError('saveHtml takes the report that validate() returned, and a path');
  }
  if (typeof path !== 'string' || path === '') throw new InputError('saveHtml needs the path of the HTML file to write');
  if (typeof report.id !== 'number') {
    throw new NbdeployError(
      `this report of "${report.model}" version ${report.version} is not stored in the service (it has no id), ` +
        'so there is no page to write: save the report that validate() returned'
    );
  }
  const file = resolve(path);
  const folder = dirname(file);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`cannot write ${path}: the folder ${folder} does not exist`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) throw new InputError(`cannot write ${path}: it is a folder`);
  const { reply } = await client.request(
    { type: 'validation_page', model: report.model, version: report.version, validation_id: report.id },
    ValidationPageReply
  );
  writeFileSync(file, reply.html, 'utf8');
  return file;
}
