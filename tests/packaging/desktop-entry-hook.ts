/**
 * An electron-builder afterPack hook for the packaging check only
 * (`-c.afterPack=tests/packaging/desktop-entry-hook.ts`): writes the Linux
 * desktop entry electron-builder would install with the deb and AppImage
 * (targets that cannot be built offline) to MEGILANCE_DESKTOP_ENTRY_OUT, so
 * the check can read its MimeType (the megilance:// handler) and Exec line.
 * Uses electron-builder's own LinuxTargetHelper, with the packager of this build.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AfterPackContext } from 'electron-builder';

interface LinuxTargetHelperModule {
  LinuxTargetHelper: new (packager: AfterPackContext['packager']) => {
    computeDesktopEntry(options: unknown): Promise<string>;
  };
}

export default async function writeDesktopEntry(context: AfterPackContext): Promise<void> {
  const out = process.env['MEGILANCE_DESKTOP_ENTRY_OUT'];
  if (out === undefined || context.electronPlatformName !== 'linux') return;
  const { LinuxTargetHelper } = createRequire(import.meta.url)(
    'app-builder-lib/out/targets/LinuxTargetHelper',
  ) as LinuxTargetHelperModule;
  const helper = new LinuxTargetHelper(context.packager);
  writeFileSync(out, await helper.computeDesktopEntry(context.packager.platformSpecificBuildOptions));
}
