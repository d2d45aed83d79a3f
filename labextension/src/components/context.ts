import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Zone } from '../format';
import { OrchModel } from '../model';

/** What every sidebar component is given. */
export interface ISidebarContext {
  model: OrchModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  zone: Zone;
}
