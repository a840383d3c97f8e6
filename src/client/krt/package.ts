/**
 * A version package, from a `.krt` file (a tar.gz holding `krt.yml` and the version's files) or
 * from the directory it is packed from. Reading stays within limits — the archive's size, the
 * entries' declared sizes, their count, the manifest's size — and refuses entries that could land
 * outside the package when unpacked (absolute paths, `..`, links, devices). Each limit says which
 * one was hit.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { create as createTar, Parser, type ReadEntry } from 'tar';
import { KrtError, MANIFEST_FILE, parseManifest, type KrtManifest } from './manifest.ts';

export interface KrtLimits {
  /** The `.krt` file itself (compressed). */
  maxArchiveBytes: number;
  /** All entries' sizes added up, as their headers declare them. */
  maxUnpackedBytes: number;
  maxEntries: number;
  maxManifestBytes: number;
  maxPathLength: number;
}

export const DEFAULT_LIMITS: KrtLimits = {
  maxArchiveBytes: 64 * 1024 * 1024,
  maxUnpackedBytes: 256 * 1024 * 1024,
  maxEntries: 10_000,
  maxManifestBytes: 1024 * 1024,
  maxPathLength: 1024,
};

/** The suffix of a package file; a package never holds one (so packing twice does not nest them). */
export const KRT_SUFFIX = '.krt';

export interface KrtPackage {
  /** The file or directory read, as given. */
  source: string;
  manifest: KrtManifest;
  /** `krt.yml` as written, for the version's id. */
  manifestText: string;
  /** Every regular file of the package, relative and `/`-separated, sorted. */
  files: string[];
}

const problem = (source: string, message: string, file = basename(source)) => new KrtError(source, [{ file, field: '', message }]);

/** A tar path as a package path: `./a/b` → `a/b`; undefined when it could leave the package. */
function packagePath(path: string): string | undefined {
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path) || path.includes('\\') || path.includes('\0')) return undefined;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return undefined;
  return parts.join('/');
}

const MIB = 1024 * 1024;
const size = (n: number) => (n >= MIB ? `${(n / MIB).toFixed(0)} MiB` : `${n} bytes`);

async function statOrRefuse(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    throw problem(path, `cannot read: ${(err as Error).message}`);
  }
}

/** Reads a `.krt` file: its manifest checked against every rule, and its file list. */
export async function readKrtFile(file: string, limits: KrtLimits = DEFAULT_LIMITS): Promise<KrtPackage> {
  const st = await statOrRefuse(file);
  if (!st.isFile()) throw problem(file, 'not a file');
  if (st.size > limits.maxArchiveBytes) throw problem(file, `the file is ${size(st.size)}, more than the limit of ${size(limits.maxArchiveBytes)}`);

  const files = new Set<string>();
  const dirs = new Set<string>();
  let manifest: Buffer | undefined;
  await new Promise<void>((resolvePromise, reject) => {
    const input = createReadStream(file);
    let failed = false;
    let entries = 0;
    let unpacked = 0;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(err);
    };
    const onEntry = (entry: ReadEntry) => {
      if (failed) return entry.resume();
      entries += 1;
      unpacked += entry.size;
      const path = packagePath(entry.path);
      if (entries > limits.maxEntries) return fail(problem(file, `more than ${limits.maxEntries} entries (the limit)`));
      if (unpacked > limits.maxUnpackedBytes) return fail(problem(file, `the entries add up to more than the limit of ${size(limits.maxUnpackedBytes)} unpacked`));
      if (entry.path.length > limits.maxPathLength) return fail(problem(file, `entry "${entry.path.slice(0, 80)}…" has a path longer than ${limits.maxPathLength} characters`));
      if (path === undefined) return fail(problem(file, `entry "${entry.path}" points outside the package (absolute path or "..")`));
      if (entry.type === 'Directory') {
        if (path) dirs.add(path);
        return entry.resume();
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
        return fail(problem(file, `entry "${entry.path}" is a ${entry.type}: a package holds only files and directories`));
      }
      if (files.has(path)) return fail(problem(file, `entry "${path}" appears twice`));
      files.add(path);
      if (path !== MANIFEST_FILE) return entry.resume();
      if (entry.size > limits.maxManifestBytes) return fail(problem(file, `${size(entry.size)}, more than the limit of ${size(limits.maxManifestBytes)}`, MANIFEST_FILE));
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        manifest = Buffer.concat(chunks);
      });
    };
    const parser = new Parser({ strict: true, onReadEntry: onEntry });
    parser.on('error', (err: Error) => fail(problem(file, `not a tar.gz archive: ${err.message}`)));
    parser.on('end', () => {
      if (!failed) resolvePromise();
    });
    input.on('error', (err) => fail(problem(file, `cannot read: ${err.message}`)));
    input.pipe(parser);
  });
  if (files.size === 0) throw problem(file, 'not a tar.gz archive, or an empty one');
  if (manifest === undefined) throw problem(file, `no ${MANIFEST_FILE} at the top of the archive`);
  const text = manifest.toString('utf8');
  const sorted = [...files].sort();
  return { source: file, manifest: parseManifest(text, file, new Set(sorted)), manifestText: text, files: sorted };
}

/** The regular files under `dir`, relative and sorted; symbolic links and special files are refused. */
async function listDir(dir: string, limits: KrtLimits): Promise<string[]> {
  const out: string[] = [];
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(at, e.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (e.isDirectory()) {
        await walk(full);
        continue;
      }
      if (e.isSymbolicLink()) throw problem(dir, `"${rel}" is a symbolic link: a package holds only files and directories`, rel);
      if (!e.isFile()) throw problem(dir, `"${rel}" is not a regular file`, rel);
      if (e.name.endsWith(KRT_SUFFIX)) continue;
      if (out.length >= limits.maxEntries) throw problem(dir, `more than ${limits.maxEntries} files (the limit)`);
      if (rel.length > limits.maxPathLength) throw problem(dir, `"${rel.slice(0, 80)}…" has a path longer than ${limits.maxPathLength} characters`);
      total += (await lstat(full)).size;
      if (total > limits.maxUnpackedBytes) throw problem(dir, `the files add up to more than the limit of ${size(limits.maxUnpackedBytes)}`);
      out.push(rel);
    }
  };
  await walk(dir);
  return out;
}

/** Reads a package directory as `kre krt pack` would pack it (files ending in `.krt` left out). */
export async function readKrtDir(dir: string, limits: KrtLimits = DEFAULT_LIMITS): Promise<KrtPackage> {
  const files = await listDir(dir, limits);
  if (!files.includes(MANIFEST_FILE)) throw problem(dir, `no ${MANIFEST_FILE} in the directory`);
  const path = join(dir, MANIFEST_FILE);
  const manifestSize = (await stat(path)).size;
  if (manifestSize > limits.maxManifestBytes) throw problem(dir, `${size(manifestSize)}, more than the limit of ${size(limits.maxManifestBytes)}`, MANIFEST_FILE);
  const text = await readFile(path, 'utf8');
  return { source: dir, manifest: parseManifest(text, dir, new Set(files)), manifestText: text, files };
}

/** A package from a `.krt` file or a directory. */
export async function readKrt(path: string, limits: KrtLimits = DEFAULT_LIMITS): Promise<KrtPackage> {
  const st = await statOrRefuse(path);
  return st.isDirectory() ? readKrtDir(path, limits) : readKrtFile(path, limits);
}

/**
 * Packs `dir` into a `.krt` file (default `<version>.krt` in the current directory) after checking
 * it as `readKrtDir` does. The archive is reproducible: sorted entries, no owners, one fixed time.
 */
export async function packKrt(dir: string, out?: string, limits: KrtLimits = DEFAULT_LIMITS): Promise<{ file: string; pkg: KrtPackage; bytes: number }> {
  const pkg = await readKrtDir(dir, limits);
  const file = resolve(out ?? `${pkg.manifest.version}${KRT_SUFFIX}`);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await createTar({ gzip: true, cwd: dir, file: tmp, portable: true, noDirRecurse: true, mtime: new Date(0) }, pkg.files);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const bytes = (await stat(file)).size;
  if (bytes > limits.maxArchiveBytes) {
    await rm(file, { force: true });
    throw problem(dir, `the packed file would be ${size(bytes)}, more than the limit of ${size(limits.maxArchiveBytes)} a .krt may have`);
  }
  return { file, pkg, bytes };
}
